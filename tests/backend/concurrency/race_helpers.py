"""Shared by the race tests: many real clients released at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx


def race(count: int, request: Callable[[httpx.Client], httpx.Response], base_url: str) -> list[httpx.Response]:
    """Sends `request` `count` times at once, each from its own client and connection; the answers in order."""
    return race_each(count, lambda client, _index: request(client), base_url)


def race_each(
    count: int, request: Callable[[httpx.Client, int], httpx.Response], base_url: str
) -> list[httpx.Response]:
    """`race`, where racer `index` (0 .. count - 1) sends `request(client, index)`."""
    barrier = threading.Barrier(count)

    def one(index: Any) -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            client.get("/health")  # connected before the start signal
            barrier.wait()
            return request(client, index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))
