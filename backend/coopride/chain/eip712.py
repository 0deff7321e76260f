"""EIP-712 typed data for everything CoopRide asks a wallet to sign.

One builder per message; each returns the full typed-data dict (domain, types, primaryType, message)
that a wallet signs with `eth_signTypedData_v4`, and that `eth_account` signs with
`Account.sign_typed_data(key, full_message=...)`. The contracts verify the same structures
(see docs/design.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

EIP712_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

TRIP_RECEIPT_FIELDS = [
    {"name": "tripId", "type": "uint64"},
    {"name": "driver", "type": "address"},
    {"name": "rider", "type": "address"},
    {"name": "regionId", "type": "uint32"},
    {"name": "distanceMetres", "type": "uint32"},
    {"name": "fare", "type": "uint96"},
    {"name": "startTime", "type": "uint40"},
    {"name": "endTime", "type": "uint40"},
    {"name": "traceHash", "type": "bytes32"},
]

PERMIT_FIELDS = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

BALLOT_FIELDS = [
    {"name": "proposalId", "type": "uint256"},
    {"name": "support", "type": "uint8"},
    {"name": "voter", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]

PROPOSAL_FIELDS = [
    {"name": "proposer", "type": "address"},
    {"name": "proposalHash", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


@dataclass(frozen=True)
class Domain:
    name: str
    version: str
    chainId: int
    verifyingContract: str

    @classmethod
    def from_manifest(cls, entry: dict) -> Domain:
        return cls(
            entry["name"], entry["version"], int(entry["chainId"]), to_checksum_address(entry["verifyingContract"])
        )


@dataclass(frozen=True)
class TripReceipt:
    tripId: int
    driver: str
    rider: str
    regionId: int
    distanceMetres: int
    fare: int
    startTime: int
    endTime: int
    traceHash: bytes

    def as_message(self) -> dict:
        message = asdict(self)
        message["driver"] = to_checksum_address(self.driver)
        message["rider"] = to_checksum_address(self.rider)
        message["traceHash"] = bytes(self.traceHash)
        return message

    def as_tuple(self) -> tuple:
        """The receipt as the ABI tuple `RideLedger.settle` takes."""
        m = self.as_message()
        return tuple(m[f["name"]] for f in TRIP_RECEIPT_FIELDS)


def _typed(domain: Domain, primary: str, fields: list[dict], message: dict) -> dict:
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, primary: fields},
        "primaryType": primary,
        "domain": asdict(domain),
        "message": message,
    }


def receipt_typed_data(domain: Domain, receipt: TripReceipt) -> dict:
    return _typed(domain, "TripReceipt", TRIP_RECEIPT_FIELDS, receipt.as_message())


def permit_typed_data(domain: Domain, owner: str, spender: str, value: int, nonce: int, deadline: int) -> dict:
    message = {
        "owner": to_checksum_address(owner),
        "spender": to_checksum_address(spender),
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
    return _typed(domain, "Permit", PERMIT_FIELDS, message)


def ballot_typed_data(domain: Domain, proposal_id: int, support: int, voter: str, nonce: int) -> dict:
    message = {"proposalId": proposal_id, "support": support, "voter": to_checksum_address(voter), "nonce": nonce}
    return _typed(domain, "Ballot", BALLOT_FIELDS, message)


def proposal_typed_data(domain: Domain, proposer: str, proposal_hash: int | bytes, nonce: int, deadline: int) -> dict:
    """`CoopGovernor.proposeBySig`'s `Proposal`; `proposal_hash` is the Governor's `hashProposal(...)` (the
    proposal id), as an integer or 32 bytes."""
    if isinstance(proposal_hash, int):
        proposal_hash = proposal_hash.to_bytes(32, "big")
    if len(proposal_hash) != 32:
        raise ValueError(f"a proposal hash has 32 bytes, got {len(proposal_hash)}")
    message = {
        "proposer": to_checksum_address(proposer),
        "proposalHash": bytes(proposal_hash),
        "nonce": nonce,
        "deadline": deadline,
    }
    return _typed(domain, "Proposal", PROPOSAL_FIELDS, message)


def sign_typed_data(private_key: str | bytes, typed_data: dict) -> bytes:
    """Signs as a wallet would (65 bytes r || s || v, v in {27, 28})."""
    return bytes(Account.sign_typed_data(private_key, full_message=typed_data).signature)


def recover_typed_data_signer(typed_data: dict, signature: bytes) -> str:
    """The address whose key made `signature` over `typed_data`."""
    signer: str = Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature)
    return signer


def split_signature(signature: bytes) -> tuple[int, bytes, bytes]:
    """(v, r, s) from a 65-byte signature, as ERC-2612 `permit` takes it."""
    if len(signature) != 65:
        raise ValueError(f"a signature has 65 bytes, got {len(signature)}")
    v = signature[64]
    if v < 27:
        v += 27
    return v, signature[:32], signature[32:64]


def compact_signature(signature: bytes) -> tuple[bytes, bytes]:
    """EIP-2098 `(r, vs)` from a 65-byte signature: `vs = s | (v - 27) << 255`."""
    v, r, s = split_signature(signature)
    if v not in (27, 28):
        raise ValueError(f"signature v must be 27 or 28, got {v}")
    vs = int.from_bytes(s, "big") | ((v - 27) << 255)
    return r, vs.to_bytes(32, "big")


NO_SIGNATURE = (b"\x00" * 32, b"\x00" * 32)


def signed_receipt_tuple(receipt: TripReceipt, driver_signature: bytes, rider_signature: bytes | None) -> tuple:
    """The `SignedReceipt` ABI tuple for `RideLedger.settle`; solo trips carry an all-zero rider signature."""
    driver_r, driver_vs = compact_signature(driver_signature)
    rider_r, rider_vs = compact_signature(rider_signature) if rider_signature else NO_SIGNATURE
    return (receipt.as_tuple(), driver_r, driver_vs, rider_r, rider_vs)


# ---------------------------------------------------------------- membership v2: applications and leaving
# Signed under the Membership domain (name "CoopRide Membership", version "1"). An Application is stored off
# chain until the admissions role (or governance) submits it with `Membership.admit`; `nonce` is
# `Membership.nonces(applicant)`, consumed at admission. A Leave is relayed with `Membership.leaveBySig`.

APPLICATION_FIELDS = [
    {"name": "applicant", "type": "address"},
    {"name": "regionId", "type": "uint32"},
    {"name": "maxCapitalShare", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

LEAVE_FIELDS = [
    {"name": "member", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def application_typed_data(
    domain: Domain, applicant: str, region_id: int, max_capital_share: int, nonce: int, deadline: int
) -> dict:
    """`Application(address applicant,uint32 regionId,uint256 maxCapitalShare,uint256 nonce,uint256 deadline)`:
    `max_capital_share` is the most the applicant pays at admission (fare-token units)."""
    message = {
        "applicant": to_checksum_address(applicant),
        "regionId": region_id,
        "maxCapitalShare": max_capital_share,
        "nonce": nonce,
        "deadline": deadline,
    }
    return _typed(domain, "Application", APPLICATION_FIELDS, message)


def leave_typed_data(domain: Domain, member: str, nonce: int, deadline: int) -> dict:
    """`Leave(address member,uint256 nonce,uint256 deadline)`."""
    message = {"member": to_checksum_address(member), "nonce": nonce, "deadline": deadline}
    return _typed(domain, "Leave", LEAVE_FIELDS, message)


# ---------------------------------------------------------------- RideLedger v2 (issue 11): bookings, attestations
# Every message below is signed in the ledger's domain (name "CoopRide", version "1"); the type strings are the
# contracts' (contracts/libraries/LedgerMessages.sol) and docs/design.md's.

FARE_AUTHORISATION_FIELDS = [
    {"name": "tripId", "type": "uint64"},
    {"name": "rider", "type": "address"},
    {"name": "driver", "type": "address"},
    {"name": "regionId", "type": "uint32"},
    {"name": "pickupLatE6", "type": "int32"},
    {"name": "pickupLonE6", "type": "int32"},
    {"name": "dropoffLatE6", "type": "int32"},
    {"name": "dropoffLonE6", "type": "int32"},
    {"name": "maxFare", "type": "uint96"},
    {"name": "cancelBy", "type": "uint40"},
    {"name": "expiry", "type": "uint40"},
]

ATTESTATION_FIELDS = [
    {"name": "batchId", "type": "bytes32"},
    {"name": "receiptsHash", "type": "bytes32"},
]

HOLD_RELEASE_FIELDS = [
    {"name": "tripId", "type": "uint64"},
    {"name": "driver", "type": "address"},
    {"name": "rider", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

DISPUTE_FIELDS = [
    {"name": "tripId", "type": "uint64"},
    {"name": "driver", "type": "address"},
    {"name": "rider", "type": "address"},
    {"name": "reason", "type": "string"},
    {"name": "by", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

RESOLUTION_FIELDS = [
    {"name": "tripId", "type": "uint64"},
    {"name": "driver", "type": "address"},
    {"name": "rider", "type": "address"},
    {"name": "award", "type": "uint96"},
    {"name": "reason", "type": "string"},
    {"name": "mediator", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

WITHDRAWAL_FIELDS = [
    {"name": "account", "type": "address"},
    {"name": "fromEarnings", "type": "bool"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


@dataclass(frozen=True)
class FareAuthorisation:
    """What a rider signs when accepting a match: the most they pay for this booking (`tripId`), to this driver."""

    tripId: int
    rider: str
    driver: str
    regionId: int
    pickupLatE6: int
    pickupLonE6: int
    dropoffLatE6: int
    dropoffLonE6: int
    maxFare: int
    cancelBy: int
    expiry: int

    def as_message(self) -> dict:
        message = asdict(self)
        message["rider"] = to_checksum_address(self.rider)
        message["driver"] = to_checksum_address(self.driver)
        return message

    def as_tuple(self) -> tuple:
        """The authorisation as the ABI tuple `RideLedger.authoriseFare` takes."""
        m = self.as_message()
        return tuple(m[f["name"]] for f in FARE_AUTHORISATION_FIELDS)


def fare_authorisation_typed_data(domain: Domain, authorisation: FareAuthorisation) -> dict:
    return _typed(domain, "FareAuthorisation", FARE_AUTHORISATION_FIELDS, authorisation.as_message())


def receipt_digest(domain: Domain, receipt: TripReceipt) -> bytes:
    """The receipt's EIP-712 digest: what the driver signs, and what an attestation covers."""
    return typed_data_digest(receipt_typed_data(domain, receipt))


def typed_data_digest(typed_data: dict) -> bytes:
    """`keccak256(0x1901 || domainSeparator || structHash)`, the 32 bytes a wallet signs."""
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def receipts_hash(domain: Domain, receipts: list[TripReceipt]) -> bytes:
    """`keccak256(digest_0 || ... || digest_{n-1})` over a batch's receipts, in the order they are settled."""
    return keccak(b"".join(receipt_digest(domain, receipt) for receipt in receipts))


def attestation_typed_data(domain: Domain, batch_id: bytes, receipts_hash_: bytes) -> dict:
    message = {"batchId": bytes(batch_id), "receiptsHash": bytes(receipts_hash_)}
    return _typed(domain, "Attestation", ATTESTATION_FIELDS, message)


def sign_attestation(
    private_key: str | bytes, domain: Domain, batch_id: bytes, receipts: list[TripReceipt]
) -> tuple[bytes, bytes]:
    """The attester's EIP-2098 `(r, vs)` over a batch, as `RideLedger.settle` takes them."""
    typed = attestation_typed_data(domain, batch_id, receipts_hash(domain, receipts))
    return compact_signature(sign_typed_data(private_key, typed))


def hold_release_typed_data(
    domain: Domain, trip_id: int, driver: str, rider: str, signer: str, nonce: int, deadline: int
) -> dict:
    message = {
        "tripId": trip_id,
        "driver": to_checksum_address(driver),
        "rider": to_checksum_address(rider),
        "signer": to_checksum_address(signer),
        "nonce": nonce,
        "deadline": deadline,
    }
    return _typed(domain, "HoldRelease", HOLD_RELEASE_FIELDS, message)


def dispute_typed_data(
    domain: Domain, trip_id: int, driver: str, rider: str, reason: str, by: str, nonce: int, deadline: int
) -> dict:
    message = {
        "tripId": trip_id,
        "driver": to_checksum_address(driver),
        "rider": to_checksum_address(rider),
        "reason": reason,
        "by": to_checksum_address(by),
        "nonce": nonce,
        "deadline": deadline,
    }
    return _typed(domain, "Dispute", DISPUTE_FIELDS, message)


def resolution_typed_data(
    domain: Domain,
    trip_id: int,
    driver: str,
    rider: str,
    award: int,
    reason: str,
    mediator: str,
    nonce: int,
    deadline: int,
) -> dict:
    message = {
        "tripId": trip_id,
        "driver": to_checksum_address(driver),
        "rider": to_checksum_address(rider),
        "award": award,
        "reason": reason,
        "mediator": to_checksum_address(mediator),
        "nonce": nonce,
        "deadline": deadline,
    }
    return _typed(domain, "Resolution", RESOLUTION_FIELDS, message)


def withdrawal_typed_data(
    domain: Domain, account: str, from_earnings: bool, amount: int, nonce: int, deadline: int
) -> dict:
    message = {
        "account": to_checksum_address(account),
        "fromEarnings": from_earnings,
        "amount": amount,
        "nonce": nonce,
        "deadline": deadline,
    }
    return _typed(domain, "Withdrawal", WITHDRAWAL_FIELDS, message)
