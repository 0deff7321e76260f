"""Races against a real server: the app served by uvicorn on a free port, in a thread of this process, with
real HTTP clients on threads (one connection each) released together by a barrier (`race_helpers.race`).
`client` is an HTTP client of that server, so the shared `wallet()` and `member()` fixtures use it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from coopride.runner import free_port


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the chain state the module's fixtures left."""


@pytest.fixture
def live_url(app) -> Iterator[str]:
    """The app behind uvicorn (several worker threads, as in production), until the test ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def client(live_url) -> Iterator[httpx.Client]:
    """Replaces the shared TestClient: `wallet()` and `member()` talk to the real server."""
    with httpx.Client(base_url=live_url, timeout=60) as http:
        yield http
