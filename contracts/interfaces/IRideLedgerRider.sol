// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRideLedgerRider
/// @notice Escrow and pull payments: what members call on the RideLedger.
interface IRideLedgerRider {
    /// @notice Emitted when `amount` fare tokens enter `rider`'s escrow.
    event EscrowDeposited(address indexed rider, uint256 amount);
    /// @notice Emitted when `rider` withdraws `amount` from escrow.
    event EscrowWithdrawn(address indexed rider, uint256 amount);
    /// @notice Emitted when `driver` withdraws `amount` of earned fares.
    event EarningsWithdrawn(address indexed driver, uint256 amount);

    /// @notice The caller is not a member.
    error NotMember(address account);
    /// @notice A zero amount was given where a positive one is needed.
    error ZeroAmount();
    /// @notice `account` asked for `requested` but holds only `available`.
    error InsufficientBalance(address account, uint256 available, uint256 requested);

    /// @notice Deposits `amount` fare tokens (approved beforehand) into the caller's escrow.
    /// @param amount Fare-token units.
    function deposit(uint256 amount) external;

    /// @notice Deposits into `rider`'s escrow with the rider's ERC-2612 permit; anyone may relay it.
    /// @param rider The member whose tokens move and whose escrow is credited.
    /// @param amount Fare-token units (the permit's value).
    /// @param deadline The permit's deadline.
    /// @param v The permit signature's v.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    function depositWithPermit(address rider, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Withdraws `amount` from the caller's escrow (members and former members alike).
    /// @param amount Fare-token units.
    function withdrawEscrow(uint256 amount) external;

    /// @notice Withdraws `amount` of the caller's earned fares.
    /// @param amount Fare-token units.
    function withdrawEarnings(uint256 amount) external;

    /// @notice Fare tokens in `account`'s escrow.
    function escrowOf(address account) external view returns (uint256);

    /// @notice Fare tokens `account` has earned and not yet withdrawn.
    function earningsOf(address account) external view returns (uint256);
}
