"""The HTTP side of `Idempotency-Key` (`coopride.services.idempotency`): a route hands its work to `idempotent`,
which answers a repeat with the stored first answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from coopride.services import idempotency

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="optional: a repeat of this request with the same key returns the first answer and does "
        "nothing more; the same key with another request is a 422",
    ),
]


def idempotent(
    session: Session,
    request: Request,
    caller: str,
    key: str | None,
    body: BaseModel | None,
    public: type[BaseModel],
    status_code: int,
    work: Callable[[], Any],
) -> Any:
    """Runs `work` (which returns what the route answers, shaped as `public`) and commits; with a key, a repeat
    gets the stored first answer instead."""
    if key is None:
        result = work()
        session.commit()
        return result
    payload = body.model_dump(mode="json") if body is not None else None
    print_ = idempotency.fingerprint(request.method, request.url.path, payload)
    stored = idempotency.replay(session, caller, key, print_)
    if stored is not None:
        session.rollback()
        return JSONResponse(status_code=stored.status_code, content=stored.body)
    result = work()
    answer = jsonable_encoder(public.model_validate(result, from_attributes=True))
    idempotency.remember(session, caller, key, print_, status_code, answer)
    session.commit()
    return result
