"""On SQLite, requests that may write go through one at a time.

SQLite has one writer at a time, and a writing request holds the write lock from its first query to its commit
(`coopride.db` begins such transactions IMMEDIATE). FastAPI runs a request's dependencies and route in worker
threads of one pool: if every thread of the pool waits for the lock while the request holding it needs a thread for
its next step, nothing moves until the busy timeout, and every waiting request answers 500 "database is locked"
(seen at 64 clients, issue 13). Queueing writing requests in the event loop, before they take a thread, removes the
wait for the lock from the pool. Reads (GET) begin deferred transactions and pass freely. PostgreSQL needs none of
this: its row locks are taken per statement.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SQLiteWriteGate:
    """ASGI middleware: at most `writers` requests that may write (any method but GET, HEAD, OPTIONS) at a time."""

    def __init__(self, app: ASGIApp, writers: int = 1):
        self.app = app
        self.gate = asyncio.Semaphore(writers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        async with self.gate:
            await self.app(scope, receive, send)
