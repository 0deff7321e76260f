// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IMembershipObserver
/// @notice The one hook the Membership calls when a member joins or is removed.
interface IMembershipObserver {
    /// @notice Called by the Membership after `member` joined (`joined` true) or was removed (`joined` false).
    /// @param member The member's address.
    /// @param regionId The region the member joined (or belonged to, on removal).
    /// @param joined True on join, false on removal.
    /// @param joiningFee The fare-token fee the observer collects from the member on join (0 on removal).
    function onMembershipChanged(address member, uint32 regionId, bool joined, uint256 joiningFee) external;
}
