"""The one place refusals become HTTP answers: every `DomainError` the services raise, the chain's errors and
requests that do not validate. Every answer is one shape, `Problem`: JSON `{"detail": "<reason>", "code":
"<kind>"}` (a chain revert adds `chain_error`; a request that does not validate lists its problems in `detail`,
as FastAPI does). `ERROR_RESPONSES` documents it on every route."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from coopride.chain.errors import ChainRevert, ChainUnavailable
from coopride.services.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, NotSignedIn, Unauthorized

HTTP_STATUS: dict[type[DomainError], int] = {
    Unauthorized: status.HTTP_401_UNAUTHORIZED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Invalid: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str | list[dict[str, Any]] = Field(
        description="the reason in words; for a request that does not validate, one entry per problem "
        "(`loc`, `msg`, `type`, `input`)"
    )
    code: str = Field(
        description="the kind of refusal: bad_request, invalid_request, invalid, unauthorized, forbidden, "
        "not_found, method_not_allowed, conflict, chain_refused, chain_unavailable"
    )
    chain_error: str | None = Field(default=None, description="the contract's custom error, when the chain refused")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: {"model": Problem, "description": "the body is not JSON"},
    status.HTTP_401_UNAUTHORIZED: {"model": Problem, "description": "not signed in, or the session expired"},
    status.HTTP_403_FORBIDDEN: {"model": Problem, "description": "not yours to do (not a member, not your object)"},
    status.HTTP_404_NOT_FOUND: {"model": Problem, "description": "no such object"},
    status.HTTP_409_CONFLICT: {"model": Problem, "description": "not in a state that allows it, or the chain refused"},
    status.HTTP_422_UNPROCESSABLE_CONTENT: {"model": Problem, "description": "the request makes no sense"},
    status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Problem, "description": "the chain node is unreachable"},
}

CODES: dict[type[DomainError], str] = {
    Unauthorized: "unauthorized",
    Forbidden: "forbidden",
    NotFound: "not_found",
    Conflict: "conflict",
    Invalid: "invalid",
}


def _code(error: DomainError) -> str:
    for kind in type(error).__mro__:
        if kind in CODES:
            return CODES[kind]
    return "refused"


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


HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_refusal(_request: Request, exc: HTTPException) -> JSONResponse:
        """FastAPI's and Starlette's own refusals (a body that is not JSON, an unknown path) in the same shape."""
        code = HTTP_CODES.get(exc.status_code, "refused")
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.detail, "code": code}, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": validation_problems(exc), "code": "invalid_request"},
        )

    @app.exception_handler(DomainError)
    async def refused(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotSignedIn) else None
        return JSONResponse(
            status_code=http_status(exc), content={"detail": exc.detail, "code": _code(exc)}, headers=headers
        )

    @app.exception_handler(ChainRevert)
    async def chain_refused(_request: Request, exc: ChainRevert) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT,
            content={
                "detail": f"the chain refused the transaction: {exc.message}",
                "code": "chain_refused",
                "chain_error": exc.error_name,
            },
        )

    @app.exception_handler(ChainUnavailable)
    async def chain_down(_request: Request, exc: ChainUnavailable) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": f"the chain node is unreachable: {exc}", "code": "chain_unavailable"},
        )
