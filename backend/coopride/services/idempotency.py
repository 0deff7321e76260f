"""`Idempotency-Key` (issue 12): the first answer to a caller's POST under a key is stored with a fingerprint of
the request (method, path, body); a repeat with the same key and request gets that answer again, without doing
anything; the same key with another request is refused. Concurrent repeats wait on the key's lock
(`locks.lock_key`), so the second finds the first's answer."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from coopride.models import IdempotencyRecord
from coopride.services.errors import Conflict, Invalid
from coopride.services.locks import lock_key


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return "0x" + hashlib.sha256(canonical.encode()).hexdigest()


def replay(session: Session, caller: str, key: str, request_fingerprint: str) -> IdempotencyRecord | None:
    """The stored first answer for (caller, key), once this transaction holds the key; None if there is none.
    Refuses (422) a key used before for another request."""
    lock_key(session, "idempotency", caller, key)
    record = session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.caller == caller, IdempotencyRecord.key == key)
    ).first()
    if record is not None and record.fingerprint != request_fingerprint:
        raise Invalid(f"the Idempotency-Key {key!r} was used for another request: use a new key")
    return record


def remember(
    session: Session, caller: str, key: str, request_fingerprint: str, status_code: int, body: dict[str, Any]
) -> None:
    """Stores the answer with the work it answers (the caller commits both)."""
    session.add(
        IdempotencyRecord(caller=caller, key=key, fingerprint=request_fingerprint, status_code=status_code, body=body)
    )
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"the Idempotency-Key {key!r} is being used by a request in flight: retry") from None
