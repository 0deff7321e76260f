// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IMembership
/// @notice What other contracts (the CoopGovernor) read from the Membership.
interface IMembership {
    /// @notice Whether `account` is a member now.
    function isMember(address account) external view returns (bool);
    /// @notice When `member` was admitted (unix seconds); 0 if not a member.
    function admittedAt(address member) external view returns (uint48);
    /// @notice The capital share `member` paid at admission (0 if not a member).
    function capitalPaid(address member) external view returns (uint256);
    /// @notice The region `member` belongs to (0 if not a member).
    function regionOf(address member) external view returns (uint32);
}
