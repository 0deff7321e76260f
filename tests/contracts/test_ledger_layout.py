"""RideLedger's inline-assembly settle loop reads structs by hand-written offsets; these tests keep every offset in
step with the struct declarations (memory `Batch`, packed storage `Account`, `Region` and `HoldRecord`, the
`Escrow` word) and the ABI's calldata."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from brownie import RideLedger

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
LEDGER_SOURCE = (CONTRACTS / "RideLedger.sol").read_text()


def struct_fields(name: str) -> list[tuple[str, str]]:
    """(type, name) of each member of `struct name`, in declaration order, from whichever contract declares it."""
    for path in CONTRACTS.rglob("*.sol"):
        match = re.search(rf"struct {name} \{{(.*?)\}}", path.read_text(), re.S)
        if match:
            return re.findall(r"^\s*([\w.\[\]]+)\s+(\w+);", match.group(1), re.M)
    raise AssertionError(f"no struct {name} under contracts/")


def constant(name: str) -> int:
    match = re.search(rf"uint256 private constant {name} = ([0-9a-fx()<\- ]+);", LEDGER_SOURCE)
    assert match, f"RideLedger declares no constant {name}"
    return eval(match.group(1), {"__builtins__": {}})  # literals and `(1 << n) - 1` only, by the pattern above


def upper_snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


def bit_width(solidity_type: str) -> int:
    if solidity_type in ("bool", "HoldState") or solidity_type.endswith(".HoldState"):
        return 8  # enums of fewer than 256 members take one byte
    if solidity_type == "address":
        return 160
    match = re.fullmatch(r"u?int(\d+)", solidity_type)
    assert match, f"unexpected type {solidity_type} in a packed struct"
    return int(match.group(1))


def packed_bit_offsets(struct: str) -> dict[str, int]:
    """Where Solidity puts each member of a one-word struct in storage: from the low bits, in declaration order."""
    offsets, bit = {}, 0
    for solidity_type, name in struct_fields(struct):
        offsets[name] = bit
        bit += bit_width(solidity_type)
    assert bit <= 256, f"{struct} no longer fits one storage word"
    return offsets


def test_batch_offsets_are_one_word_per_member_in_declaration_order():
    fields = struct_fields("Batch")
    declared = dict(re.findall(r"uint256 private constant (B_\w+) = (0x[0-9a-f]+);", LEDGER_SOURCE))
    expected = {f"B_{upper_snake(name)}": f"0x{index * 32:03x}" for index, (_, name) in enumerate(fields)}
    assert declared == expected


@pytest.mark.parametrize(
    "shift, struct, member",
    [
        ("REWARD_DAY_SHIFT", "Account", "rewardDay"),
        ("REWARDED_METRES_SHIFT", "Account", "rewardedMetresToday"),
        ("LAST_ACTIVE_AT_SHIFT", "Account", "lastActiveAt"),
        ("ACTIVE_REGION_SHIFT", "Account", "activeRegion"),
        ("MEMBER_SHIFT", "Account", "member"),
        ("REGION_OPERATING_SHIFT", "Region", "operating"),
        ("REGION_EXISTS_SHIFT", "Region", "exists"),
        ("REGION_PHASE_CHANGED_AT_SHIFT", "Region", "phaseChangedAt"),
        ("REGION_DAILY_REWARDED_KM_SHIFT", "Region", "dailyRewardedKm"),
        ("HOLD_EXPIRY_SHIFT", "HoldRecord", "expiry"),
        ("HOLD_STATE_SHIFT", "HoldRecord", "state"),
    ],
)
def test_packed_word_shifts_match_the_storage_layout(shift, struct, member):
    assert constant(shift) == packed_bit_offsets(struct)[member]


def test_low_bits_of_the_packed_words_are_the_amounts_settlement_adds_to():
    assert struct_fields("Account")[0] == ("uint96", "earnings")
    assert struct_fields("Escrow")[0] == ("uint96", "balance")
    assert struct_fields("HoldRecord")[0] == ("uint96", "maxFare")
    assert struct_fields("Region")[0] == ("uint96", "farePerKm")


def test_reward_counters_mask_covers_reward_day_and_rewarded_metres():
    widths = {name: bit_width(kind) for kind, name in struct_fields("Account")}
    assert constant("REWARD_COUNTERS_MASK") == (1 << (widths["rewardDay"] + widths["rewardedMetresToday"])) - 1
    offsets = packed_bit_offsets("Account")
    assert offsets["rewardedMetresToday"] == offsets["rewardDay"] + widths["rewardDay"]


def test_activity_mask_covers_last_active_at_and_active_region():
    widths = {name: bit_width(kind) for kind, name in struct_fields("Account")}
    assert constant("ACTIVITY_MASK") == (1 << (widths["lastActiveAt"] + widths["activeRegion"])) - 1
    offsets = packed_bit_offsets("Account")
    assert offsets["activeRegion"] == offsets["lastActiveAt"] + widths["lastActiveAt"]


def test_hold_state_constants_follow_the_enum():
    source = (CONTRACTS / "interfaces" / "IRideLedgerBookings.sol").read_text()
    states = re.search(r"enum HoldState \{(.*?)\}", source, re.S).group(1).replace(",", " ").split()
    for name in ("Active", "Disputed", "ResolvedPaid", "ResolvedUnpaid"):
        assert constant(f"HOLD_{upper_snake(name)}") == states.index(name), name


def test_signed_receipt_calldata_offsets_follow_the_settle_abi():
    settle = next(item for item in RideLedger.abi if item.get("name") == "settle")
    signed_receipts = next(arg for arg in settle["inputs"] if arg["type"] == "tuple[]")
    receipt, *signatures = signed_receipts["components"]
    flat = [part["name"] for part in receipt["components"]] + [part["name"] for part in signatures]
    assert all(part["type"] != "tuple" and not part["type"].endswith("]") for part in receipt["components"])
    offsets = {name: index * 32 for index, name in enumerate(flat)}
    assert constant("SIGNED_RECEIPT_BYTES") == len(flat) * 32
    for field, name in [("tripId", "TRIP_ID"), ("driver", "DRIVER"), ("rider", "RIDER"), ("regionId", "REGION_ID"),
                        ("distanceMetres", "DISTANCE"), ("fare", "FARE"), ("startTime", "START_TIME"),
                        ("endTime", "END_TIME"), ("driverR", "DRIVER_R"), ("driverVS", "DRIVER_VS"),
                        ("riderR", "RIDER_R"), ("riderVS", "RIDER_VS")]:
        assert constant(name) == offsets[field], name
