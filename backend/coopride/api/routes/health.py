from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy import text

from coopride.api.deps import ChainDep, SessionDep
from coopride.chain.errors import ChainUnavailable
from coopride.schemas.health import Health

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database and chain reachable?", response_model=Health,
            responses={503: {"description": "the database or the chain is unreachable", "model": Health}})
def health(session: SessionDep, chain: ChainDep):
    try:
        session.exec(text("SELECT 1"))
        database = True
    except Exception:
        database = False
    try:
        block_number = chain.block_number()
    except ChainUnavailable:
        block_number = None
    body = Health(database=database, chain=block_number is not None, block_number=block_number)
    code = status.HTTP_200_OK if body.database and body.chain else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(status_code=code, content=body.model_dump())
