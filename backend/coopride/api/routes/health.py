from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from coopride.api.deps import ChainDep, SessionDep
from coopride.schemas.health import Health
from coopride.services import health as health_check

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Database and chain reachable?",
    response_model=Health,
    responses={503: {"description": "the database or the chain is unreachable", "model": Health}},
)
def health(session: SessionDep, chain: ChainDep) -> JSONResponse:
    body = health_check.check(session, chain)
    code = status.HTTP_200_OK if body.database and body.chain else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(status_code=code, content=body.model_dump())
