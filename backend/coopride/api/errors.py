"""The one place refusals become HTTP answers: every `DomainError` the services raise, the chain's errors and
requests that do not validate. Every answer is JSON `{"detail": "<reason>"}` (a chain revert adds
`chain_error`; a request that does not validate lists its problems in `detail`, as FastAPI does)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from coopride.chain.errors import ChainRevert, ChainUnavailable
from coopride.services.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, NotSignedIn, Unauthorized

HTTP_STATUS: dict[type[DomainError], int] = {
    Unauthorized: status.HTTP_401_UNAUTHORIZED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Invalid: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


def http_status(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in HTTP_STATUS:
            return HTTP_STATUS[kind]
    return status.HTTP_400_BAD_REQUEST


def _printable(value: Any) -> Any:
    """`value` as JSON can carry it: non-finite floats and text that is not valid UTF-8 (a lone surrogate) as
    their `repr`, so that describing bad input never fails on the bad input itself."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return ascii(value)
        return value
    if isinstance(value, dict):
        return {str(_printable(key)): _printable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable(item) for item in value]
    if value is None or isinstance(value, (bool, int)):
        return value
    return _printable(str(value))


def validation_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's list of validation problems (`loc`, `msg`, `type`, `input`), safe to render as JSON."""
    problems = []
    for error in exc.errors():
        problem = {key: error[key] for key in ("type", "loc", "msg") if key in error}
        if "input" in error:
            problem["input"] = error["input"]
        problems.append(_printable(jsonable_encoder(problem)))
    return problems


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": validation_problems(exc)}
        )

    @app.exception_handler(DomainError)
    async def refused(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotSignedIn) else None
        return JSONResponse(status_code=http_status(exc), content={"detail": exc.detail}, headers=headers)

    @app.exception_handler(ChainRevert)
    async def chain_refused(_request: Request, exc: ChainRevert) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT,
            content={"detail": f"the chain refused the transaction: {exc.message}", "chain_error": exc.error_name},
        )

    @app.exception_handler(ChainUnavailable)
    async def chain_down(_request: Request, exc: ChainUnavailable) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content={"detail": f"the chain node is unreachable: {exc}"}
        )
