// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IMembershipObserver
/// @notice The hooks the Membership calls when a member is admitted, leaves or is removed. The observer (the
/// RideLedger) keeps the members' capital shares, apart from any other money it holds.
interface IMembershipObserver {
    /// @notice `amount` fare tokens of `member`'s capital share arrived at admission.
    event CapitalShareCollected(address indexed member, uint256 amount);
    /// @notice `amount` of `member`'s capital share went back to their wallet when they left.
    event CapitalShareReturned(address indexed member, uint256 amount);
    /// @notice `amount` of removed `member`'s capital share went to the treasury.
    event CapitalShareForfeited(address indexed member, uint256 amount);

    /// @notice The fare token delivered `received` instead of the `expected` capital share (a fee-on-transfer token).
    error CapitalShareNotReceived(uint256 expected, uint256 received);

    /// @notice Called by the Membership after admitting `member`: records the member in `regionId` and pulls
    /// `capitalShare` fare tokens from the member (allowance from the permit signed with the application).
    /// @param member The new member.
    /// @param regionId The region the member applied for.
    /// @param capitalShare Fare-token units to collect (at most what the member signed for).
    function onAdmitted(address member, uint32 regionId, uint256 capitalShare) external;

    /// @notice Called by the Membership after `member` left in good standing: pays `capitalShare` back.
    /// @param member The former member.
    /// @param regionId The region the member belonged to.
    /// @param capitalShare The capital share the member paid at admission.
    function onLeft(address member, uint32 regionId, uint256 capitalShare) external;

    /// @notice Called by the Membership after governance removed `member`: the capital share goes to the treasury.
    /// @param member The removed member.
    /// @param regionId The region the member belonged to.
    /// @param capitalShare The capital share the member paid at admission.
    function onRemoved(address member, uint32 regionId, uint256 capitalShare) external;

    /// @notice Fare tokens held as the current members' capital shares (never part of the treasury).
    function capitalHeld() external view returns (uint256);
}
