"""The ledger's EIP-712 messages as the backend builds them are byte for byte the contract's: the same type strings
as contracts/libraries/LedgerMessages.sol, and the digest of each message is
keccak256(0x1901 || domainSeparator || keccak256(typeHash || abi.encode(fields))) with the contract's encoding
(strings hashed). The same digests are checked on chain by the settlement and API tests, whose signatures the
ledger accepts; the attestation's receiptsHash is the keccak of the receipts' digests concatenated in order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak

from coopride.chain import eip712
from coopride.chain.eip712 import (
    ATTESTATION_FIELDS,
    DISPUTE_FIELDS,
    FARE_AUTHORISATION_FIELDS,
    HOLD_RELEASE_FIELDS,
    RESOLUTION_FIELDS,
    TRIP_RECEIPT_FIELDS,
    Domain,
    FareAuthorisation,
    TripReceipt,
)

LEDGER_MESSAGES = Path(__file__).resolve().parents[3] / "contracts" / "libraries" / "LedgerMessages.sol"
DOMAIN = Domain("CoopRide", "1", 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
RIDER, DRIVER, MEDIATOR = ("0x" + c * 40 for c in "abc")
RECEIPT = TripReceipt(2**53 - 7, DRIVER, RIDER, 1, 4_000, 2_000_000, 1_795_000_000, 1_795_000_600, keccak(b"trace"))


def _solidity_type_strings() -> dict[str, str]:
    text = LEDGER_MESSAGES.read_text()
    return {m.group(1): f"{m.group(1)}({m.group(2)})" for m in re.finditer(r'"(\w+)\(([^"]*)\)"', text)}


def _type_string(name: str, fields: list[dict]) -> str:
    return f"{name}({','.join(f['type'] + ' ' + f['name'] for f in fields)})"


@pytest.mark.parametrize(
    "name, fields",
    [
        ("TripReceipt", TRIP_RECEIPT_FIELDS),
        ("Attestation", ATTESTATION_FIELDS),
        ("FareAuthorisation", FARE_AUTHORISATION_FIELDS),
        ("HoldRelease", HOLD_RELEASE_FIELDS),
        ("Dispute", DISPUTE_FIELDS),
        ("Resolution", RESOLUTION_FIELDS),
    ],
)
def test_every_ledger_message_has_the_contracts_type_string(name, fields):
    assert _type_string(name, fields) == _solidity_type_strings()[name]


def _domain_separator(domain: Domain) -> bytes:
    type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    return keccak(abi_encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                             [type_hash, keccak(text=domain.name), keccak(text=domain.version), domain.chainId,
                              domain.verifyingContract]))


def _contract_digest(name: str, fields: list[dict], message: dict) -> bytes:
    """What the ledger hashes: strings as keccak256(bytes(s)), every other field abi-encoded as it is."""
    types, values = ["bytes32"], [keccak(text=_type_string(name, fields))]
    for field in fields:
        value = message[field["name"]]
        if field["type"] == "string":
            types.append("bytes32")
            values.append(keccak(text=value))
        else:
            types.append(field["type"])
            values.append(value)
    return keccak(b"\x19\x01" + _domain_separator(DOMAIN) + keccak(abi_encode(types, values)))


MESSAGES = {
    "TripReceipt": (TRIP_RECEIPT_FIELDS, eip712.receipt_typed_data(DOMAIN, RECEIPT)),
    "FareAuthorisation": (
        FARE_AUTHORISATION_FIELDS,
        eip712.fare_authorisation_typed_data(
            DOMAIN,
            FareAuthorisation(RECEIPT.tripId, RIDER, DRIVER, 1, 45_763_500, 4_832_000, -45_755_500, -4_853_000,
                              2_500_000, 1_795_000_000, 1_795_021_600),
        ),
    ),
    "HoldRelease": (HOLD_RELEASE_FIELDS,
                    eip712.hold_release_typed_data(DOMAIN, RECEIPT.tripId, DRIVER, RIDER, RIDER, 3, 1_795_003_600)),
    "Dispute": (DISPUTE_FIELDS, eip712.dispute_typed_data(DOMAIN, RECEIPT.tripId, DRIVER, RIDER,
                                                          "dropped two streets away", RIDER, 0, 1_795_003_600)),
    "Resolution": (RESOLUTION_FIELDS, eip712.resolution_typed_data(DOMAIN, RECEIPT.tripId, DRIVER, RIDER, 1_250_000,
                                                                   "half the ride", MEDIATOR, 9, 1_795_003_600)),
    "Attestation": (ATTESTATION_FIELDS, eip712.attestation_typed_data(DOMAIN, b"\x01" * 32, b"\x02" * 32)),
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_ledger_message_digest_is_the_contracts(name):
    fields, typed = MESSAGES[name]
    assert eip712.typed_data_digest(typed) == _contract_digest(name, fields, typed["message"])


def test_the_attestation_covers_the_receipts_digests_in_order_and_signs_in_compact_form():
    other = TripReceipt(5, DRIVER, eip712.ZERO_ADDRESS, 2, 3_000, 0, 1_795_000_000, 1_795_000_300, keccak(b"solo"))
    digests = [eip712.receipt_digest(DOMAIN, r) for r in (RECEIPT, other)]
    assert eip712.receipts_hash(DOMAIN, [RECEIPT, other]) == keccak(b"".join(digests))
    assert eip712.receipts_hash(DOMAIN, [other, RECEIPT]) != eip712.receipts_hash(DOMAIN, [RECEIPT, other])

    attester = Account.create()
    batch_id = keccak(b"batch")
    r, vs = eip712.sign_attestation(attester.key, DOMAIN, batch_id, [RECEIPT, other])
    digest = eip712.typed_data_digest(
        eip712.attestation_typed_data(DOMAIN, batch_id, eip712.receipts_hash(DOMAIN, [RECEIPT, other])))
    v = 27 + (vs[0] >> 7)
    s = (int.from_bytes(vs, "big") & (2**255 - 1)).to_bytes(32, "big")
    from eth_keys import keys

    signer = keys.Signature(vrs=(v - 27, int.from_bytes(r, "big"), int.from_bytes(s, "big"))).recover_public_key_from_msg_hash(digest)
    assert signer.to_checksum_address() == attester.address
