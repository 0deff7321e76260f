// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Emission
/// @notice Halving and hard-cap maths for share rewards.
library Emission {
    /// @notice The reward per km after halving once for every `halvingInterval` shares already minted.
    function rewardPerKm(uint256 baseRewardPerKm, uint256 totalMinted, uint256 halvingInterval)
        internal
        pure
        returns (uint256)
    {
        uint256 halvings = totalMinted / halvingInterval;
        return halvings >= 256 ? 0 : baseRewardPerKm >> halvings;
    }

    /// @notice `amount` clipped so that `totalMinted + amount` never exceeds `cap`.
    function clipToCap(uint256 amount, uint256 totalMinted, uint256 cap) internal pure returns (uint256) {
        if (totalMinted >= cap) return 0;
        uint256 room = cap - totalMinted;
        return amount < room ? amount : room;
    }
}
