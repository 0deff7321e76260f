"""Only the Timelock (governance) changes parameters; every setter refuses anyone else."""

import brownie
import pytest
from contract_helpers import REGION_LYON

ADMIN_SETTERS = [
    ("setFeeBps", (1000,)),
    ("setRewards", (1, 1)),
    ("setHalvingInterval", (10**18,)),
    ("setDailyRewardedMetres", (1,)),
    ("addRegion", (9, "Elsewhere", 3, 100, 1_000)),
    ("setRegionFare", (REGION_LYON, 1)),
    ("setCriticalMass", (REGION_LYON, 1)),
    ("setRegionDailyCap", (REGION_LYON, 1)),
    ("setRegionPhase", (REGION_LYON, True)),
    ("setTripBounds", (3_600,)),
    ("setReceiptWindows", (60, 3_600)),
    ("spendTreasury", ("0x000000000000000000000000000000000000dEaD", 1)),
    ("distributeSurplus", (1,)),
]


@pytest.mark.parametrize("name,args", ADMIN_SETTERS, ids=[s[0] for s in ADMIN_SETTERS])
def test_ledger_setters_refuse_everyone_but_the_timelock(coop, members, name, args):
    admin_role = bytes(32)  # brownie renders the bytes32 argument as a Python bytes literal
    for caller in (members[0], coop.deployer, coop.settler, coop.admissions, coop.guardian):
        with brownie.reverts(f"AccessControlUnauthorizedAccount: {caller.address.lower()}, {admin_role}"):
            getattr(coop.ledger, name)(*args, {"from": caller})


def test_timelock_sets_parameters_with_events(coop):
    tx = coop.ledger.setFeeBps(1000, {"from": coop.timelock})
    assert tx.events["FeeBpsSet"]["feeBps"] == 1000
    tx = coop.ledger.setRewards(3, 2, {"from": coop.timelock})
    assert coop.ledger.bootstrapRewardPerKm() == 3 and coop.ledger.operatingRewardPerKm() == 2


def test_invalid_parameters_are_refused(coop):
    with brownie.reverts("InvalidParameter: feeBps"):
        coop.ledger.setFeeBps(10_001, {"from": coop.timelock})
    with brownie.reverts("InvalidParameter: halvingInterval"):
        coop.ledger.setHalvingInterval(0, {"from": coop.timelock})
    with brownie.reverts("RegionExists: 1"):
        coop.ledger.addRegion(REGION_LYON, "again", 1, 1, 1, {"from": coop.timelock})
    with brownie.reverts("InvalidParameter: disputeWindow"):
        coop.ledger.setReceiptWindows(3_600, 3_600, {"from": coop.timelock})
    with brownie.reverts("InvalidParameter: maxTripSeconds"):
        coop.ledger.setTripBounds(0, {"from": coop.timelock})


def test_treasury_cannot_be_overdrawn(coop):
    with brownie.reverts("TreasuryInsufficient: 0, 1"):
        coop.ledger.spendTreasury(coop.deployer, 1, {"from": coop.timelock})


def test_pause_is_for_the_guardian_or_governance_only(coop, members):
    with brownie.reverts():
        coop.ledger.pause({"from": members[0]})
    coop.ledger.pause({"from": coop.timelock})
    assert coop.ledger.paused()


def test_only_governance_switches_a_region_back_to_bootstrap(coop, members):
    coop.activate(REGION_LYON)
    for caller in (members[0], coop.settler, coop.guardian):
        with brownie.reverts():
            coop.ledger.setRegionPhase(REGION_LYON, False, {"from": caller})
    with brownie.reverts("RegionAlreadyOperating: 1"):
        coop.ledger.activateRegion(REGION_LYON, [], {"from": members[0]})
    coop.ledger.setRegionPhase(REGION_LYON, False, {"from": coop.timelock})
    assert not coop.ledger.region(REGION_LYON)[3]


def test_parameter_change_passes_through_a_full_proposal(coop, governance):
    governance.pass_([(coop.ledger, "setFeeBps", (1200,))], "lower the fee to 12 %")
    assert coop.ledger.feeBps() == 1200
