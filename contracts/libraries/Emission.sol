// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Emission
/// @notice Halving maths for share rewards (the settle loop applies the same rule inline).
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
}
