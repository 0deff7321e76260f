"""Fares, fees and share rewards, in the exact integer arithmetic of the RideLedger contract.

Every function floors like Solidity's unsigned division, so a quote shown to a member is the
amount the chain will charge or mint (docs/design.md, "Rules applied per receipt").
"""

from __future__ import annotations

BPS_DENOMINATOR = 10_000
METRES_PER_KM = 1_000
MAX_FEE_BPS = BPS_DENOMINATOR


def _require_natural(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def quote_fare(distance_metres: int, fare_per_km: int) -> int:
    """Fare in fare-token units for a trip: `distance_metres * fare_per_km // 1000`."""
    _require_natural("distance_metres", distance_metres)
    _require_natural("fare_per_km", fare_per_km)
    return distance_metres * fare_per_km // METRES_PER_KM


def fee_of(fare: int, fee_bps: int) -> int:
    """The cooperative's part of a fare: `fare * fee_bps // 10000`."""
    _require_natural("fare", fare)
    _require_natural("fee_bps", fee_bps)
    if fee_bps > MAX_FEE_BPS:
        raise ValueError(f"fee_bps must be <= {MAX_FEE_BPS}, got {fee_bps}")
    return fare * fee_bps // BPS_DENOMINATOR


def driver_take(fare: int, fee_bps: int) -> int:
    """What the driver is credited: the fare minus the fee (the rounding remainder goes to the driver)."""
    return fare - fee_of(fare, fee_bps)


def reward_for(distance_metres: int, reward_per_km: int) -> int:
    """Shares (18-decimal units) for a distance, paid per metre: `distance_metres * reward_per_km // 1000`."""
    _require_natural("distance_metres", distance_metres)
    _require_natural("reward_per_km", reward_per_km)
    return distance_metres * reward_per_km // METRES_PER_KM


def halved_rate(base_rate_per_km: int, total_minted: int, halving_interval: int) -> int:
    """The reward rate after halvings: `base >> (total_minted // halving_interval)`.

    A `halving_interval` of 0 means no halving.
    """
    _require_natural("base_rate_per_km", base_rate_per_km)
    _require_natural("total_minted", total_minted)
    _require_natural("halving_interval", halving_interval)
    if halving_interval == 0:
        return base_rate_per_km
    halvings = total_minted // halving_interval
    return base_rate_per_km >> halvings if halvings < 256 else 0


def capped_reward(reward: int, total_minted: int, cap: int) -> int:
    """The part of `reward` that can still be minted under CoopShare's hard cap."""
    _require_natural("reward", reward)
    _require_natural("total_minted", total_minted)
    _require_natural("cap", cap)
    return min(reward, max(0, cap - total_minted))
