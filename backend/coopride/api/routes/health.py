from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from coopride.api.deps import ChainDep, SessionDep
from coopride.schemas.health import ChainInfo, Health
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


@router.get(
    "/chain",
    summary="The chain, the contracts, and the fare and share tokens' symbols and decimals (to show amounts)",
    response_model=ChainInfo,
)
def chain_info(chain: ChainDep) -> ChainInfo:
    """Every amount in the API is a decimal string of integer base units of a token: divide by `10 ** decimals`
    of `fare_token` (fares, deposits, escrow, earnings, fees, treasury, capital shares, awards) or `share_token`
    (co-op shares, rewards) to show it. 503 when the chain node is unreachable."""
    return health_check.chain_info(chain)
