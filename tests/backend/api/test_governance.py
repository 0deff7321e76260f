"""Parameter-change proposals relayed for members, and gas-free signed ballots."""

from __future__ import annotations

import pytest

# The backend's relayer proposes on members' behalf, so it needs a threshold it can meet: 0 votes.
DEPLOY_PARAMS = {"proposalThreshold": 0}


@pytest.fixture
def voters(member, bootstrap_region):
    return member(bootstrap_region), member(bootstrap_region)


def _open_voting(chain):
    chain.sleep(2)
    chain.mine()


def _propose(me, **change):
    change.setdefault("description", "Lower the cooperative fee to 12 %")
    return me.post("/governance/proposals", json=change)


def _vote(me, proposal_id, support, signer=None):
    data = me.get(f"/governance/proposals/{proposal_id}/ballot", params={"support": support})
    assert data.status_code == 200, data.text
    signature = (signer or me).sign_typed(data.json()["typed_data"])
    return me.post("/governance/ballots", json={"proposal_id": proposal_id, "support": support, "signature": signature})


def test_a_member_proposes_a_fee_change_and_the_chain_records_it(voters, chain_client):
    proposer, _ = voters
    response = _propose(proposer, kind="fee", fee_bps=1200)
    assert response.status_code == 201, response.text
    proposal = response.json()
    assert proposal["requested_by"] == proposer.address and proposal["kind"] == "fee"
    assert proposal["parameters"] == {"fee_bps": 1200} and proposal["state"] == "Pending"
    assert proposal["targets"] == [chain_client.ledger.address]
    assert proposal["calldatas"] == [chain_client.ledger.encode_abi("setFeeBps", args=[1200])]
    assert proposer.address in proposal["description"]
    listed = proposer.get("/governance/proposals").json()
    assert [p["proposal_id"] for p in listed] == [proposal["proposal_id"]]


@pytest.mark.parametrize(
    "change, function, args",
    [
        ({"kind": "region_fare", "region_id": 1, "fare_per_km": 600_000}, "setRegionFare", [1, 600_000]),
        ({"kind": "rewards", "bootstrap_reward_per_km": 2 * 10**18, "operating_reward_per_km": 10**18},
         "setRewards", [2 * 10**18, 10**18]),
        ({"kind": "critical_mass", "region_id": 2, "critical_mass": 3}, "setCriticalMass", [2, 3]),
    ],
)
def test_every_parameter_kind_becomes_its_ledger_call(voters, chain_client, change, function, args):
    response = _propose(voters[0], **change, description=f"change {change['kind']}")
    assert response.status_code == 201, response.text
    assert response.json()["calldatas"] == [chain_client.ledger.encode_abi(function, args=args)]


def test_signed_ballots_are_counted_on_chain_at_no_cost_to_the_voter(voters, chain, chain_client):
    proposer, voter = voters
    proposal_id = _propose(proposer, kind="fee", fee_bps=1200).json()["proposal_id"]
    _open_voting(chain)
    assert _vote(voter, proposal_id, 1).status_code == 201
    assert _vote(proposer, proposal_id, 0).status_code == 201
    tallied = voter.get(f"/governance/proposals/{proposal_id}").json()
    assert tallied["state"] == "Active" and (tallied["votes_for"], tallied["votes_against"]) == (1, 1)
    assert chain_client.w3.eth.get_balance(voter.address) == 0
    votes = voter.get(f"/members/{voter.address}/statement").json()["votes"]
    assert [(v["proposal_id"], v["support"]) for v in votes] == [(proposal_id, 1)]


def test_voting_twice_is_refused_by_the_chain(voters, chain):
    proposer, voter = voters
    proposal_id = _propose(proposer, kind="fee", fee_bps=1200).json()["proposal_id"]
    _open_voting(chain)
    assert _vote(voter, proposal_id, 1).status_code == 201
    again = _vote(voter, proposal_id, 1)
    assert again.status_code == 409
    assert again.json()["chain_error"] == "GovernorAlreadyCastVote"


def test_a_ballot_signed_by_someone_else_is_refused(voters, chain, wallet):
    proposer, voter = voters
    proposal_id = _propose(proposer, kind="fee", fee_bps=1200).json()["proposal_id"]
    _open_voting(chain)
    response = _vote(voter, proposal_id, 1, signer=wallet())
    assert response.status_code == 403
    assert voter.get(f"/governance/proposals/{proposal_id}").json()["votes_for"] == 0


def test_ballots_before_voting_opens_are_a_conflict(voters):
    proposer, voter = voters
    proposal_id = _propose(proposer, kind="fee", fee_bps=1200).json()["proposal_id"]
    response = _vote(voter, proposal_id, 1)
    assert response.status_code == 409 and "Pending" in response.json()["detail"]


def test_unknown_proposals_are_not_found(voters):
    assert voters[0].get("/governance/proposals/12345").status_code == 404
    assert voters[0].get("/governance/proposals/12345/ballot", params={"support": 1}).status_code == 404
    assert voters[0].get("/governance/proposals/not-a-number").status_code == 422


@pytest.mark.parametrize(
    "change, status, reason",
    [
        ({"kind": "fee", "fee_bps": 20_000}, 422, "less than or equal to 10000"),
        ({"kind": "dissolve"}, 422, "does not match any of the expected tags"),
        ({"kind": "region_fare", "region_id": 77, "fare_per_km": 1}, 422, "unknown region 77"),
        ({"kind": "fee", "fee_bps": "cheap"}, 422, "valid integer"),
    ],
)
def test_bad_proposals_are_refused_with_a_reason(voters, chain_client, change, status, reason):
    response = _propose(voters[0], **change)
    assert response.status_code == status and reason in response.text
    assert chain_client.proposals() == []


def test_only_members_propose_and_vote(wallet):
    outsider = wallet()
    assert _propose(outsider, kind="fee", fee_bps=1200).status_code == 403
    assert outsider.post("/governance/ballots", json={"proposal_id": "1", "support": 1,
                                                      "signature": "0x" + "11" * 65}).status_code == 403
