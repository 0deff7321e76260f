// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ICoopShareMinter
/// @notice What the RideLedger (the minter) needs from CoopShare.
interface ICoopShareMinter {
    /// @notice Mints `amounts[i]` shares to `to[i]`; only the minter. Amounts are already clipped to the cap.
    /// @param to The recipients.
    /// @param amounts The share amounts, one per recipient.
    function mintBatch(address[] calldata to, uint256[] calldata amounts) external;

    /// @notice Moves `amount` fare tokens from the caller into the surplus distribution, pro rata to shares.
    /// @param amount Fare-token units to distribute.
    function distribute(uint256 amount) external;

    /// @notice The hard cap on the total supply of shares.
    function cap() external view returns (uint256);

    /// @notice The total supply of shares.
    function totalSupply() external view returns (uint256);
}
