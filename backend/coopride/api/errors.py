"""The one place refusals become HTTP answers: every `DomainError` the services raise, and the chain's
errors. Every answer is JSON `{"detail": "<reason>"}` (a chain revert adds `chain_error`)."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
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


def install_error_handlers(app: FastAPI) -> None:
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
