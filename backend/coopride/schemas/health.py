from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    database: bool
    chain: bool
    block_number: int | None = None
