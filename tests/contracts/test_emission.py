"""Reward emission: daily rewarded-km cap, halving, the hard cap on shares."""

import pytest
from brownie import chain
from contract_helpers import SHARE, Receipts, outcomes


def test_daily_cap_clips_rewards_but_the_trip_settles(coop, receipts, members):
    coop.ledger.setDailyRewardedMetres(7_000, {"from": coop.timelock})
    driver = members[0]
    tx = receipts.settle([receipts.trip(driver, distance=5_000), receipts.trip(driver, distance=5_000)])
    assert set(outcomes(tx).values()) == {"settled"}
    assert [e["shares"] for e in tx.events["TripSettled"]] == [5 * SHARE, 2 * SHARE]
    assert coop.shares.balanceOf(driver) == 7 * SHARE


def test_daily_cap_resets_on_the_next_utc_day(coop, receipts, members):
    coop.ledger.setDailyRewardedMetres(5_000, {"from": coop.timelock})
    driver = members[0]
    receipts.settle([receipts.trip(driver, distance=5_000)])
    receipts.settle([receipts.trip(driver, distance=5_000)])
    assert coop.shares.balanceOf(driver) == 5 * SHARE
    chain.sleep(86_400)
    chain.mine()
    receipts.settle([receipts.trip(driver, distance=5_000)])
    assert coop.shares.balanceOf(driver) == 10 * SHARE


def test_daily_cap_is_per_driver(coop, receipts, members):
    coop.ledger.setDailyRewardedMetres(5_000, {"from": coop.timelock})
    receipts.settle([receipts.trip(members[0], distance=5_000), receipts.trip(members[1], distance=5_000)])
    assert coop.shares.balanceOf(members[0]) == coop.shares.balanceOf(members[1]) == 5 * SHARE


def test_reward_halves_each_interval_of_minted_shares(coop, receipts, members):
    coop.ledger.setHalvingInterval(10 * SHARE, {"from": coop.timelock})
    driver = members[0]
    tx = receipts.settle([receipts.trip(driver, distance=10_000) for _ in range(3)])
    # 0 minted: 1/km -> 10; 10 minted: 0.5/km -> 5; 15 minted: still one halving -> 5
    assert [e["shares"] for e in tx.events["TripSettled"]] == [10 * SHARE, 5 * SHARE, 5 * SHARE]
    assert coop.ledger.currentRewardPerKm(False) == SHARE // 4


def test_governance_grants_count_towards_halving(coop, members):
    coop.ledger.setHalvingInterval(10 * SHARE, {"from": coop.timelock})
    coop.shares.grant(members[0], 20 * SHARE, "founders", {"from": coop.timelock})
    assert coop.ledger.currentRewardPerKm(False) == SHARE // 4
    assert coop.ledger.currentRewardPerKm(True) == SHARE // 8


@pytest.fixture(scope="module")
def capped(deploy_coop):
    """A deployment whose share cap is 12 shares."""
    return deploy_coop({"shareCap": 12 * SHARE}, members=2)


def test_minting_stops_at_the_cap_but_trips_settle(capped):
    receipts = Receipts(capped)
    driver = capped.members[0]
    tx = receipts.settle([receipts.trip(driver, distance=10_000) for _ in range(2)] + [receipts.trip(driver)])
    assert set(outcomes(tx).values()) == {"settled"}
    assert [e["shares"] for e in tx.events["TripSettled"]] == [10 * SHARE, 2 * SHARE, 0]
    assert capped.shares.totalSupply() == capped.shares.cap() == 12 * SHARE
