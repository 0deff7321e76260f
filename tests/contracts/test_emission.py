"""Reward emission: the daily caps per driver and per region, counted on the driving day (the day a trip ended),
halving, the hard cap on shares."""

import pytest
from brownie import chain
from contract_helpers import DAY, REGION_LYON, REGION_VILLEURBANNE, SHARE, Receipts, outcomes


def _day_start() -> int:
    return chain[-1].timestamp // DAY * DAY


def _next_day():
    chain.sleep(DAY)
    chain.mine()


def test_daily_cap_clips_rewards_but_the_trip_settles(coop, receipts, members):
    coop.ledger.setDailyRewardedMetres(7_000, {"from": coop.timelock})
    driver = members[0]
    tx = receipts.settle([receipts.trip(driver, distance=5_000), receipts.trip(driver, distance=5_000)])
    assert set(outcomes(tx).values()) == {"settled"}
    assert [e["shares"] for e in tx.events["TripSettled"]] == [5 * SHARE, 2 * SHARE]
    assert coop.shares.balanceOf(driver) == 7 * SHARE


def test_daily_cap_resets_with_the_next_driving_day(coop, receipts, members):
    coop.ledger.setDailyRewardedMetres(5_000, {"from": coop.timelock})
    driver = members[0]
    receipts.settle([receipts.trip(driver, distance=5_000)])
    receipts.settle([receipts.trip(driver, distance=5_000)])
    assert coop.shares.balanceOf(driver) == 5 * SHARE
    _next_day()
    receipts.settle([receipts.trip(driver, distance=5_000)])
    assert coop.shares.balanceOf(driver) == 10 * SHARE


def test_daily_cap_counts_the_day_the_trip_ended_not_the_day_it_settled(coop, receipts, members):
    coop.ledger.setDailyRewardedMetres(5_000, {"from": coop.timelock})
    driver = members[0]
    yesterday_noon = _day_start() + 12 * 3_600 - DAY
    receipts.settle([receipts.trip(driver, distance=5_000, end_time=yesterday_noon)])
    # Settled today, driven yesterday: yesterday's cap is spent.
    tx = receipts.settle([receipts.trip(driver, distance=5_000, end_time=yesterday_noon + 60)])
    assert tx.events["TripSettled"]["shares"] == 0
    assert [int(value) for value in coop.ledger.rewardedMetres(driver)] == [yesterday_noon // DAY, 5_000]
    tx = receipts.settle([receipts.trip(driver, distance=5_000)])
    assert tx.events["TripSettled"]["shares"] == 5 * SHARE


def test_a_receipt_from_an_earlier_day_settled_late_counts_against_the_latest_day(coop, receipts, members):
    """Out of driving-day order the driver's counter cannot go back: the earlier day's trip is counted against the
    later day's room, so no order of settlement ever rewards more than the cap per day."""
    coop.ledger.setDailyRewardedMetres(5_000, {"from": coop.timelock})
    driver = members[0]
    now = chain[-1].timestamp
    tx = receipts.settle([
        receipts.trip(driver, distance=3_000, end_time=now - 1),
        receipts.trip(driver, distance=4_000, end_time=now - DAY),
    ])
    assert [e["shares"] for e in tx.events["TripSettled"]] == [3 * SHARE, 2 * SHARE]


def test_daily_cap_is_per_driver(coop, receipts, members):
    coop.ledger.setDailyRewardedMetres(5_000, {"from": coop.timelock})
    receipts.settle([receipts.trip(members[0], distance=5_000), receipts.trip(members[1], distance=5_000)])
    assert coop.shares.balanceOf(members[0]) == coop.shares.balanceOf(members[1]) == 5 * SHARE


def test_region_cap_bounds_all_drivers_together_per_driving_day(coop, receipts, members):
    tx = coop.ledger.setRegionDailyCap(REGION_LYON, 12, {"from": coop.timelock})
    assert tx.events["RegionDailyCapSet"]["dailyRewardedKm"] == 12
    end = chain[-1].timestamp - 1
    tx = receipts.settle([receipts.trip(m, distance=5_000, end_time=end) for m in members[:3]])
    assert [e["shares"] for e in tx.events["TripSettled"]] == [5 * SHARE, 5 * SHARE, 2 * SHARE]
    assert coop.ledger.regionRewardedMetres(REGION_LYON, end // DAY) == 12_000
    # Another region has its own cap; the next driving day starts afresh.
    tx = receipts.settle([receipts.trip(members[3], distance=5_000, region_id=REGION_VILLEURBANNE)])
    assert tx.events["TripSettled"]["shares"] == 5 * SHARE
    _next_day()
    tx = receipts.settle([receipts.trip(members[3], distance=5_000)])
    assert tx.events["TripSettled"]["shares"] == 5 * SHARE


def test_region_cap_is_exact_per_day_whatever_the_order(coop, receipts, members):
    coop.ledger.setRegionDailyCap(REGION_LYON, 6, {"from": coop.timelock})
    today = chain[-1].timestamp - 2
    yesterday = today - DAY
    batch = [
        receipts.trip(members[0], distance=4_000, end_time=yesterday),
        receipts.trip(members[0], distance=4_000, end_time=today),
        receipts.trip(members[1], distance=4_000, end_time=yesterday + 1),
        receipts.trip(members[1], distance=4_000, end_time=today + 1),
    ]
    tx = receipts.settle(batch)
    assert [e["shares"] for e in tx.events["TripSettled"]] == [4 * SHARE, 4 * SHARE, 2 * SHARE, 2 * SHARE]
    assert coop.ledger.regionRewardedMetres(REGION_LYON, yesterday // DAY) == 6_000
    assert coop.ledger.regionRewardedMetres(REGION_LYON, today // DAY) == 6_000


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
