// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title SettlementMath
/// @notice Fares, fees, per-metre rewards and trip plausibility.
/// @dev The argument types bound every product far below 2**256, so the arithmetic needs no overflow checks.
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

    /// @notice The treasury's part of `amount` at `feeBps` (rounded down: rounding favours the driver).
    function fee(uint128 amount, uint16 feeBps) internal pure returns (uint256) {
        unchecked {
            return uint256(amount) * feeBps / BPS;
        }
    }

    /// @notice Shares earned for `metres` at `rewardPerKm`.
    function reward(uint32 metres, uint96 rewardPerKm) internal pure returns (uint256) {
        unchecked {
            return uint256(metres) * rewardPerKm / METRES_PER_KM;
        }
    }

    /// @notice Whether a trip is physically plausible: some distance, a positive duration that has ended by `nowTs`,
    /// and an average speed of at most 200 km/h.
    function isPlausible(uint32 distanceMetres, uint40 startTime, uint40 endTime, uint256 nowTs)
        internal
        pure
        returns (bool)
    {
        if (distanceMetres == 0 || endTime <= startTime || endTime > nowTs) return false;
        unchecked {
            return uint256(distanceMetres) * MAX_SPEED_DENOMINATOR <= uint256(endTime - startTime) * MAX_SPEED_NUMERATOR;
        }
    }
}
