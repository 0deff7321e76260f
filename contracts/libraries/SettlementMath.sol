// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title SettlementMath
/// @notice The units and bounds settlement works in, and the fare quote.
/// @dev RideLedger's settle loop applies fee, reward and plausibility inline (in assembly, with these constants);
/// tests/contracts/test_invariants.py checks its results against a Python model of the rules.
library SettlementMath {
    uint256 internal constant METRES_PER_KM = 1000;
    uint256 internal constant BPS = 10_000;
    /// @dev 200 km/h = 500/9 m/s: a trip is too fast when distance * 9 > duration * 500.
    uint256 internal constant MAX_SPEED_NUMERATOR = 500;
    uint256 internal constant MAX_SPEED_DENOMINATOR = 9;

    /// @notice Fare for `distanceMetres` at `farePerKm` (rounded down).
    function fare(uint32 distanceMetres, uint96 farePerKm) internal pure returns (uint256) {
        unchecked {
            return uint256(distanceMetres) * farePerKm / METRES_PER_KM;
        }
    }
}
