"""Governance through the API on the default local deployment (proposalThreshold 1: only members propose; votingMaturity
2 s; quorum 20 % of the members, never below a floor of 3): members propose by signing an EIP-712 `Proposal` that the
backend relays to `proposeBySig`, vote with signed ballots, and any member triggers queue and execute; the settler key
pays every transaction. A membership votes (and proposes) only once mature: the API refuses what the Governor would."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from eth_utils import to_checksum_address

FEE_CHANGE = {"kind": "fee", "fee_bps": 1200, "description": "Lower the cooperative fee to 12 %"}
FOR, AGAINST = 1, 0


def _advance(chain, seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


def _mature(chain, manifest) -> None:
    """Waits until every membership admitted so far votes and proposes (votingMaturity, plus the second the
    Governor looks back when proposing)."""
    _advance(chain, manifest.parameters["votingMaturity"] + 2)


def _contract(manifest, name):
    from brownie import Contract

    return Contract.from_abi(name, manifest.address(name), manifest.contract(name).abi)


@pytest.fixture
def voters(member, bootstrap_region, chain, manifest):
    """Three members whose votes count (mature): together they reach the quorum floor of 3."""
    joined = member(bootstrap_region), member(bootstrap_region), member(bootstrap_region)
    _mature(chain, manifest)
    return joined


@pytest.fixture
def treasury(accounts, manifest, member, bootstrap_region) -> int:
    """Puts a capital share in the treasury the v2 way: a newcomer is admitted (paying the capital share), then the
    Timelock (impersonated on anvil) removes them, which forfeits it to the treasury. Returns the treasury balance."""
    newcomer = member(bootstrap_region)
    timelock = accounts.at(manifest.address("TimelockController"), force=True)
    _contract(manifest, "Membership").remove(newcomer.address, {"from": timelock})
    return _contract(manifest, "RideLedger").treasuryBalance()


def _draft(me, change):
    return me.post("/governance/proposals/typed-data", json=change)


def _propose(me, change=FEE_CHANGE, signer=None, signed_change=None):
    """Fetches the draft for `signed_change` (default: `change`), has `signer` (default: me) sign it, posts `change`."""
    draft = _draft(me, signed_change or change)
    assert draft.status_code == 200, draft.text
    typed = draft.json()["typed_data"]
    return me.post("/governance/proposals", json={"change": change, "deadline": typed["message"]["deadline"],
                                                  "signature": (signer or me).sign_typed(typed)})


def _proposal_id(me, change=FEE_CHANGE) -> str:
    response = _propose(me, change)
    assert response.status_code == 201, response.text
    return response.json()["proposal_id"]


def _vote(me, proposal_id, support, signer=None):
    data = me.get(f"/governance/proposals/{proposal_id}/ballot", params={"support": support})
    assert data.status_code == 200, data.text
    signature = (signer or me).sign_typed(data.json()["typed_data"])
    return me.post("/governance/ballots", json={"proposal_id": proposal_id, "support": support, "signature": signature})


def test_the_deployment_under_test_lets_only_members_propose(chain_client, manifest):
    assert manifest.parameters["proposalThreshold"] == 1
    assert chain_client.governor.functions.proposalThreshold().call() == 1
    assert not chain_client.is_member(chain_client.settler)


def test_the_draft_is_the_governors_proposal_and_the_typed_data_to_sign(voters, chain_client, manifest):
    proposer = voters[0]
    response = _draft(proposer, FEE_CHANGE)
    assert response.status_code == 200, response.text
    draft = response.json()
    calldata = chain_client.ledger.encode_abi("setFeeBps", args=[1200])
    assert (draft["targets"], draft["values"], draft["calldatas"]) == ([chain_client.ledger.address], ["0"], [calldata])
    assert draft["description"] == f"{FEE_CHANGE['description']}\n\n#proposer={proposer.address}"
    assert int(draft["proposal_id"]) == chain_client.hash_proposal(draft["targets"], [0], [calldata], draft["description"])
    typed = draft["typed_data"]
    assert typed["primaryType"] == "Proposal" and typed["domain"] == asdict(manifest.domains["governor"])
    assert typed["message"] == {"proposer": proposer.address, "proposalHash": f"0x{int(draft['proposal_id']):064x}",
                                "nonce": chain_client.governor_nonce(proposer.address), "deadline": draft["deadline"]}
    assert chain_client.proposals() == []


def test_a_members_signed_proposal_is_recorded_on_chain_with_the_member_as_proposer(voters, chain_client):
    proposer = voters[0]
    response = _propose(proposer)
    assert response.status_code == 201, response.text
    proposal = response.json()
    assert proposal["proposer"] == proposer.address == proposal["requested_by"]
    assert proposal["kind"] == "fee" and proposal["parameters"] == {"fee_bps": 1200} and proposal["state"] == "Pending"
    on_chain = chain_client.proposal(int(proposal["proposal_id"]))
    assert on_chain.proposer == proposer.address
    assert chain_client.w3.eth.get_balance(proposer.address) == 0
    assert [p["proposal_id"] for p in proposer.get("/governance/proposals").json()] == [proposal["proposal_id"]]
    relayed = proposer.get(f"/members/{proposer.address}/statement").json()["transactions"]
    assert [(t["kind"], t["proposal_id"], t["tx_hash"]) for t in relayed if t["kind"] == "propose"] == [
        ("propose", proposal["proposal_id"], proposal["tx_hash"])]


@pytest.mark.parametrize(
    "change, function, args",
    [
        ({"kind": "region_fare", "region_id": 1, "fare_per_km": "600000"}, "setRegionFare", [1, 600_000]),
        ({"kind": "rewards", "bootstrap_reward_per_km": str(2 * 10**18), "operating_reward_per_km": str(10**18)},
         "setRewards", [2 * 10**18, 10**18]),
        ({"kind": "critical_mass", "region_id": 2, "critical_mass": 3}, "setCriticalMass", [2, 3]),
        ({"kind": "distribute_surplus", "amount": "5000000"}, "distributeSurplus", [5 * 10**6]),
        ({"kind": "spend_treasury", "to": to_checksum_address("0x" + "ab" * 20), "amount": "1000000"}, "spendTreasury",
         [to_checksum_address("0x" + "ab" * 20), 10**6]),
    ],
)
def test_every_kind_of_change_becomes_its_ledger_call(voters, treasury, chain_client, change, function, args):
    response = _propose(voters[0], {**change, "description": f"change {change['kind']}"})
    assert response.status_code == 201, response.text
    assert response.json()["calldatas"] == [chain_client.ledger.encode_abi(function, args=args)]
    # the recorded parameters come back as sent: amounts as decimal strings, counts and ids as integers
    assert response.json()["parameters"] == {name: value for name, value in change.items() if name != "kind"}


def test_a_proposal_signed_by_another_wallet_is_refused_and_nothing_is_proposed(voters, chain_client, wallet):
    response = _propose(voters[0], signer=wallet())
    assert response.status_code == 403 and "not" in response.json()["detail"]
    assert chain_client.proposals() == []


def test_a_signature_over_another_change_is_refused(voters, chain_client):
    response = _propose(voters[0], change={**FEE_CHANGE, "fee_bps": 0}, signed_change=FEE_CHANGE)
    assert response.status_code == 403
    assert chain_client.proposals() == []


def test_another_members_signed_draft_cannot_be_posted_as_ones_own(voters, chain_client):
    author, other = voters[0], voters[1]
    draft = _draft(author, FEE_CHANGE).json()["typed_data"]
    response = other.post("/governance/proposals", json={"change": FEE_CHANGE, "deadline": draft["message"]["deadline"],
                                                         "signature": author.sign_typed(draft)})
    assert response.status_code == 403
    assert chain_client.proposals() == []


def test_a_proposal_past_its_deadline_is_refused(voters, chain, chain_client):
    proposer = voters[0]
    typed = _draft(proposer, FEE_CHANGE).json()["typed_data"]
    _advance(chain, typed["message"]["deadline"] - chain.time() + 1)
    response = proposer.post("/governance/proposals", json={"change": FEE_CHANGE, "deadline": typed["message"]["deadline"],
                                                            "signature": proposer.sign_typed(typed)})
    assert response.status_code == 422 and "deadline has passed" in response.json()["detail"]
    assert chain_client.proposals() == []


def test_proposing_the_same_change_twice_is_a_conflict_until_reworded(voters, chain_client):
    proposer = voters[0]
    _proposal_id(proposer)
    assert _draft(proposer, FEE_CHANGE).status_code == 409
    again = proposer.post("/governance/proposals", json={"change": FEE_CHANGE, "deadline": 2**40,
                                                         "signature": "0x" + "11" * 65})
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    assert _propose(proposer, {**FEE_CHANGE, "description": "Lower the fee to 12 %, second try"}).status_code == 201
    assert len(chain_client.proposals()) == 2


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"kind": "fee", "fee_bps": 20_000}, "less than or equal to 10000"),
        ({"kind": "dissolve"}, "does not match any of the expected tags"),
        ({"kind": "region_fare", "region_id": 77, "fare_per_km": "1"}, "unknown region 77"),
        ({"kind": "region_fare", "region_id": 1, "fare_per_km": 600_000}, "got a JSON number"),
        ({"kind": "region_fare", "region_id": 1, "fare_per_km": str(2**96)}, "below 2**96"),
        ({"kind": "rewards", "bootstrap_reward_per_km": "1e18", "operating_reward_per_km": "1"}, "not digits only"),
        ({"kind": "fee", "fee_bps": "cheap"}, "valid integer"),
        ({"kind": "distribute_surplus", "amount": "1"}, "the treasury holds 0 fare-token units, less than the 1"),
        ({"kind": "spend_treasury", "to": "0x1234", "amount": "1"}, "not an Ethereum address"),
        ({"kind": "spend_treasury", "to": "0x" + "ab" * 20, "amount": "0"}, "at least 1"),
        ({"kind": "fee", "fee_bps": 1, "description": "nul \x00 inside"}, "without NUL"),
        ({"kind": "fee", "fee_bps": 1, "description": "x" * 4001}, "too_long"),
    ],
)
def test_bad_changes_are_refused_with_a_reason(voters, chain_client, change, reason):
    change = {"description": "a change", **change}
    draft = _draft(voters[0], change)
    submitted = voters[0].post("/governance/proposals", json={"change": change, "deadline": 2**40,
                                                              "signature": "0x" + "11" * 65})
    for response in (draft, submitted):
        assert response.status_code == 422 and reason in response.text
    assert chain_client.proposals() == []


def test_signed_ballots_are_counted_on_chain_at_no_cost_to_the_voter(voters, chain, chain_client):
    proposer, voter = voters[0], voters[1]
    proposal_id = _proposal_id(proposer)
    _advance(chain, 2)
    assert _vote(voter, proposal_id, FOR).status_code == 201
    assert _vote(proposer, proposal_id, AGAINST).status_code == 201
    tallied = voter.get(f"/governance/proposals/{proposal_id}").json()
    assert tallied["state"] == "Active" and (tallied["votes_for"], tallied["votes_against"]) == (1, 1)
    assert chain_client.w3.eth.get_balance(voter.address) == 0
    votes = voter.get(f"/members/{voter.address}/statement").json()["votes"]
    assert [(v["proposal_id"], v["support"]) for v in votes] == [(proposal_id, FOR)]


def _ballot_post(me, proposal_id, support, signature):
    return me.post("/governance/ballots", json={"proposal_id": proposal_id, "support": support, "signature": signature})


def test_a_second_ballot_is_a_conflict_decided_by_the_governors_has_voted(voters, chain, chain_client):
    """Whether the second ballot is the first one posted again (its signature no longer matches: the Governor's
    nonce moved on), a ballot signed over the first one's typed data, or a fresh request for typed data: 409, with
    the reason, before any signature is looked at and without a transaction."""
    proposer, voter = voters[0], voters[1]
    proposal_id = _proposal_id(proposer)
    _advance(chain, 2)
    data = voter.get(f"/governance/proposals/{proposal_id}/ballot", params={"support": FOR}).json()["typed_data"]
    signature = voter.sign_typed(data)
    assert _ballot_post(voter, proposal_id, FOR, signature).status_code == 201
    assert chain_client.has_voted(int(proposal_id), voter.address)
    block = chain_client.block_number()

    for again in (
        _ballot_post(voter, proposal_id, FOR, signature),
        _ballot_post(voter, proposal_id, AGAINST, voter.sign_typed({**data, "message": {**data["message"], "support": 0}})),
        _ballot_post(voter, proposal_id, AGAINST, "0x" + "11" * 65),
        voter.get(f"/governance/proposals/{proposal_id}/ballot", params={"support": AGAINST}),
    ):
        assert again.status_code == 409, again.text
        assert again.json()["code"] == "conflict"
        assert f"already voted on proposal {proposal_id}" in again.json()["detail"]
    assert chain_client.block_number() == block
    tallied = voter.get(f"/governance/proposals/{proposal_id}").json()
    assert (tallied["votes_for"], tallied["votes_against"]) == (1, 0)
    # Another member still votes.
    assert _vote(proposer, proposal_id, AGAINST).status_code == 201


def test_a_ballot_signed_by_someone_else_is_refused(voters, chain, wallet):
    proposer, voter = voters[0], voters[1]
    proposal_id = _proposal_id(proposer)
    _advance(chain, 2)
    response = _vote(voter, proposal_id, FOR, signer=wallet())
    assert response.status_code == 403
    assert voter.get(f"/governance/proposals/{proposal_id}").json()["votes_for"] == 0


def test_ballots_before_voting_opens_are_a_conflict(voters):
    proposer, voter = voters[0], voters[1]
    proposal_id = _proposal_id(proposer)
    response = _vote(voter, proposal_id, FOR)
    assert response.status_code == 409 and "Pending" in response.json()["detail"]


def test_a_passed_proposal_is_queued_then_executed_through_the_api(voters, chain, chain_client, manifest):
    proposer, voter = voters[0], voters[1]
    proposal_id = _proposal_id(proposer)
    _advance(chain, 2)
    for me in voters:
        assert _vote(me, proposal_id, FOR).status_code == 201
    assert voter.post(f"/governance/proposals/{proposal_id}/queue").status_code == 409  # still Active
    _advance(chain, manifest.parameters["votingPeriod"] + 1)

    queued = voter.post(f"/governance/proposals/{proposal_id}/queue")
    assert queued.status_code == 201, queued.text
    assert queued.json()["kind"] == "queue" and queued.json()["proposal_id"] == proposal_id
    state = voter.get(f"/governance/proposals/{proposal_id}").json()
    assert state["state"] == "Queued" and state["eta"] >= chain_client.latest_timestamp()
    early = voter.post(f"/governance/proposals/{proposal_id}/execute")
    assert early.status_code == 409 and "may be executed from" in early.json()["detail"]
    assert voter.post(f"/governance/proposals/{proposal_id}/queue").status_code == 409  # already queued

    _advance(chain, manifest.parameters["timelockDelay"] + 1)
    executed = proposer.post(f"/governance/proposals/{proposal_id}/execute")
    assert executed.status_code == 201, executed.text
    assert chain_client.parameters().fee_bps == 1200
    assert proposer.get(f"/governance/proposals/{proposal_id}").json()["state"] == "Executed"
    assert proposer.post(f"/governance/proposals/{proposal_id}/execute").status_code == 409
    assert all(chain_client.w3.eth.get_balance(me.address) == 0 for me in voters)


def test_a_voted_treasury_payment_reaches_its_recipient(voters, treasury, chain, chain_client, manifest):
    recipient = "0x" + "cd" * 20
    change = {"kind": "spend_treasury", "to": recipient, "amount": str(treasury), "description": "Pay the map licence"}
    proposal_id = _proposal_id(voters[0], change)
    _advance(chain, 2)
    for me in voters:
        assert _vote(me, proposal_id, FOR).status_code == 201
    _advance(chain, manifest.parameters["votingPeriod"] + 1)
    assert voters[1].post(f"/governance/proposals/{proposal_id}/queue").status_code == 201
    _advance(chain, manifest.parameters["timelockDelay"] + 1)
    assert voters[1].post(f"/governance/proposals/{proposal_id}/execute").status_code == 201
    assert chain_client.fare_token_balance(recipient) == treasury
    assert chain_client.treasury_balance() == 0


def test_a_defeated_proposal_is_never_queued(voters, chain, chain_client, manifest):
    proposer, voter = voters[0], voters[1]
    proposal_id = _proposal_id(proposer)
    _advance(chain, 2)
    for me in voters:
        assert _vote(me, proposal_id, AGAINST).status_code == 201
    _advance(chain, manifest.parameters["votingPeriod"] + 1)
    response = voter.post(f"/governance/proposals/{proposal_id}/queue")
    assert response.status_code == 409 and "Defeated" in response.json()["detail"]
    assert chain_client.parameters().fee_bps == 1500


def test_unknown_proposals_are_not_found(voters):
    me = voters[0]
    assert me.get("/governance/proposals/12345").status_code == 404
    assert me.get("/governance/proposals/12345/ballot", params={"support": 1}).status_code == 404
    assert me.post("/governance/proposals/12345/queue").status_code == 404
    assert me.post("/governance/proposals/12345/execute").status_code == 404
    assert me.get("/governance/proposals/not-a-number").status_code == 422


def test_only_members_propose_vote_queue_and_execute(wallet):
    outsider = wallet()
    assert _draft(outsider, FEE_CHANGE).status_code == 403
    assert outsider.post("/governance/proposals", json={"change": FEE_CHANGE, "deadline": 2**40,
                                                        "signature": "0x" + "11" * 65}).status_code == 403
    assert outsider.post("/governance/ballots", json={"proposal_id": "1", "support": 1,
                                                      "signature": "0x" + "11" * 65}).status_code == 403
    assert outsider.post("/governance/proposals/1/queue").status_code == 403
    assert outsider.post("/governance/proposals/1/execute").status_code == 403


# ---------------------------------------------------------------------------------- vote maturity, quorum floor
def test_the_local_deployment_has_a_voting_maturity_and_a_quorum_floor(chain_client, manifest):
    assert chain_client.voting_maturity() == manifest.parameters["votingMaturity"] == 2
    assert chain_client.quorum_floor() == manifest.parameters["quorumFloor"] == 3


def test_a_member_admitted_after_a_proposal_cannot_vote_on_it(voters, member, bootstrap_region, chain, chain_client,
                                                              manifest):
    proposal_id = _proposal_id(voters[0])
    newcomer = member(bootstrap_region)
    _advance(chain, 2)
    snapshot = chain_client.proposal(int(proposal_id)).vote_start
    # The Governor's own rule: no voting power at the snapshot.
    assert chain_client.governor.functions.getVotes(newcomer.address, snapshot).call() == 0
    data = newcomer.get(f"/governance/proposals/{proposal_id}/ballot", params={"support": FOR})
    assert data.status_code == 403 and "votes only 2 s after admission" in data.json()["detail"]
    typed = voters[0].get(f"/governance/proposals/{proposal_id}/ballot", params={"support": FOR}).json()["typed_data"]
    typed["message"]["voter"] = newcomer.address
    typed["message"]["nonce"] = chain_client.governor_nonce(newcomer.address)
    response = newcomer.post("/governance/ballots", json={"proposal_id": proposal_id, "support": FOR,
                                                          "signature": newcomer.sign_typed(typed)})
    assert response.status_code == 403 and f"vote on proposal {proposal_id}" in response.json()["detail"]
    assert voters[0].get(f"/governance/proposals/{proposal_id}").json()["votes_for"] == 0
    # ... while the members admitted before it vote.
    assert _vote(voters[1], proposal_id, FOR).status_code == 201


def test_a_member_not_yet_mature_cannot_propose(member, bootstrap_region, chain, manifest):
    newcomer = member(bootstrap_region)
    response = _draft(newcomer, FEE_CHANGE)
    assert response.status_code == 403 and "cannot propose yet" in response.json()["detail"]
    _mature(chain, manifest)
    assert _draft(newcomer, FEE_CHANGE).status_code == 200


def test_a_proposal_short_of_the_quorum_floor_is_defeated(voters, chain, chain_client, manifest):
    """Three members: 20 % of them is under one vote, but the floor asks for three."""
    proposal_id = _proposal_id(voters[0])
    assert voters[0].get(f"/governance/proposals/{proposal_id}").json()["quorum"] is None  # snapshot ahead
    _advance(chain, 2)
    assert voters[0].get(f"/governance/proposals/{proposal_id}").json()["quorum"] == 3
    for me in voters[:2]:
        assert _vote(me, proposal_id, FOR).status_code == 201
    _advance(chain, manifest.parameters["votingPeriod"] + 1)
    proposal = voters[0].get(f"/governance/proposals/{proposal_id}").json()
    assert (proposal["state"], proposal["votes_for"], proposal["quorum"]) == ("Defeated", 2, 3)
    response = voters[0].post(f"/governance/proposals/{proposal_id}/queue")
    assert response.status_code == 409 and "Defeated" in response.json()["detail"]
    assert chain_client.parameters().fee_bps == 1500


def test_proposal_ids_beyond_a_uint256_are_a_validation_error(voters):
    me = voters[0]
    too_big = str(2**256)  # 78 digits, like the largest uint256
    nines = "9" * 78
    for bad in (too_big, nines, "1" * 79, "-1", "1e5"):
        for response in (
            me.get(f"/governance/proposals/{bad}"),
            me.get(f"/governance/proposals/{bad}/ballot", params={"support": 1}),
            me.post(f"/governance/proposals/{bad}/queue"),
            me.post(f"/governance/proposals/{bad}/execute"),
            me.post("/governance/ballots", json={"proposal_id": bad, "support": 1, "signature": "0x" + "11" * 65}),
        ):
            assert response.status_code == 422, (bad, response.text)
    largest = str(2**256 - 1)
    assert me.get(f"/governance/proposals/{largest}").status_code == 404
    assert me.get("/governance/proposals/000012345").status_code == 404
