"""The attester: vouches, with its own key, that every trip of a settlement batch passed the trace checks.

`RideLedger.settle` takes a batch only with a holder of ATTESTER_ROLE's EIP-712 signature over
`Attestation(bytes32 batchId,bytes32 receiptsHash)`, `receiptsHash` being the keccak-256 of the receipts' EIP-712
digests concatenated in the batch's order. Before it signs, the attester checks each trip again from what the
database stores: the trace hashes to the receipt's `traceHash`, its first and last fixes are the receipt's start and
end, it passes `check_trace` (against the booked pickup and drop-off for a shared trip) and its verified distance is
the receipt's. A trip that fails is refused (`trace_problems` names why) and never goes into an attested batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_account import Account
from sqlmodel import Session

from coopride.chain.eip712 import Domain, TripReceipt, sign_attestation
from coopride.config import Settings
from coopride.domain.geo import LatLon
from coopride.domain.traces import Fix, check_trace, trace_hash
from coopride.models import RideRequest, Trip
from coopride.services.errors import Invalid


class AttesterKeyMissing(RuntimeError):
    """No attester key is configured for a chain other than the local one."""


def attester_key_of(settings: Settings, chain_id: int) -> str:
    """`settings.attester_key`; on a local chain anvil's account #3 when unset; otherwise an operator error with a
    clear message."""
    key = settings.attester_key_for(chain_id)
    if not key:
        raise AttesterKeyMissing(
            f"no attester key for chain {chain_id}: set COOPRIDE_ATTESTER_KEY to the key holding RideLedger's "
            "ATTESTER_ROLE (settlement cannot run without it)"
        )
    return key


class Attester:
    """Signs batch attestations with the attester key, for one ledger's EIP-712 domain."""

    def __init__(self, private_key: str, domain: Domain):
        self._key = private_key
        self.address: str = Account.from_key(private_key).address
        self.domain = domain

    def attest(self, batch_id: bytes, receipts: Sequence[TripReceipt]) -> tuple[bytes, bytes]:
        """The EIP-2098 `(r, vs)` over `Attestation(batchId, receiptsHash)` for these receipts, in this order."""
        if len(batch_id) != 32:
            raise ValueError(f"a batch id has 32 bytes, got {len(batch_id)}")
        return sign_attestation(self._key, self.domain, batch_id, list(receipts))


def trace_problems(session: Session, trip: Trip) -> list[str]:
    """Why the attester refuses `trip` (empty when it vouches for it): its stored trace, checked again."""
    try:
        fixes = [Fix(int(t), float(lat), float(lon)) for t, lat, lon in trip.trace]
    except (TypeError, ValueError):
        return ["malformed_trace"]
    if len(fixes) < 2:
        return ["too_few_fixes"]
    problems: list[str] = []
    if "0x" + trace_hash(fixes).hex() != trip.trace_hash.lower():
        problems.append("trace_hash_mismatch")
    if fixes[0].t != trip.start_time or fixes[-1].t != trip.end_time:
        problems.append("times_differ_from_trace")

    pickup = dropoff = None
    if trip.rider is not None:
        request = session.get(RideRequest, trip.request_id) if trip.request_id is not None else None
        if request is None or request.rider != trip.rider or request.trip_id != trip.id:
            return [*problems, "no_matching_booking"]
        pickup = LatLon(request.origin_lat, request.origin_lon)
        if request.ended_at is None:  # a ride the rider ended early stops wherever they left
            dropoff = LatLon(request.destination_lat, request.destination_lon)
    check = check_trace(fixes, pickup=pickup, dropoff=dropoff)
    if not check.accepted:
        problems.extend(check.reasons)
    elif check.verified_metres != trip.distance_metres:
        problems.append("distance_differs_from_trace")
    return problems


def require_attestable(session: Session, trip: Trip) -> None:
    """Refuses (422) a trip the attester would not vouch for."""
    problems = trace_problems(session, trip)
    if problems:
        raise Invalid(f"the attester refuses trip {trip.id}: {', '.join(problems)}")
