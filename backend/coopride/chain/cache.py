"""Chain reads that cost what they should: contract reads cached per block, and the node's chain id asked once.

A read made inside `ReadCache.pinned()` is sent with `block_identifier=N` (N the block number read once, when the
scope opens) and cached under `(contract, function, arguments, N)`: the answer at block N never changes, so the
cache needs no invalidation, only a bound on its size; a new block makes new keys. A request that reads ten
figures asks the node for the block number once and for each figure at most once per block.

web3's validation middleware asks the node for `eth_chainId` before every `eth_call` and `eth_estimateGas`;
`ChainIdOnce` answers that request from the first answer (a node's chain id does not change while it runs).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from web3.middleware import Web3Middleware
from web3.types import RPCEndpoint, RPCResponse

# Entries kept (least recently used dropped first): a few blocks' worth of every read the API makes.
DEFAULT_MAX_ENTRIES = 4096

_MISSING = object()


class ReadCache:
    """Thread-safe LRU of `(key, block) -> value`, and the block a scope is pinned to (per thread / task)."""

    def __init__(self, block_number: Callable[[], int], max_entries: int = DEFAULT_MAX_ENTRIES):
        self._block_number = block_number
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[Hashable, int], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pinned: ContextVar[int | None] = ContextVar(f"coopride_pinned_block_{id(self)}", default=None)
        self.hits = 0
        self.misses = 0

    @property
    def block(self) -> int | None:
        """The block reads are pinned to in this context, or None outside `pinned()`."""
        return self._pinned.get()

    @contextmanager
    def pinned(self) -> Iterator[int]:
        """Reads inside are made at one block, the latest when the scope opens (read once; a nested scope keeps
        the outer block)."""
        current = self._pinned.get()
        if current is not None:
            yield current
            return
        token = self._pinned.set(int(self._block_number()))
        try:
            yield self._pinned.get() or 0
        finally:
            self._pinned.reset(token)

    def get(self, key: Hashable, block: int, read: Callable[[], Any]) -> Any:
        """The cached value of `key` at `block`, or `read()` (outside the lock: two threads may both read a miss)."""
        entry = (key, block)
        with self._lock:
            value = self._entries.get(entry, _MISSING)
            if value is not _MISSING:
                self._entries.move_to_end(entry)
                self.hits += 1
                return value
            self.misses += 1
        value = read()
        with self._lock:
            self._entries[entry] = value
            self._entries.move_to_end(entry)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class ChainIdOnce(Web3Middleware):
    """Answers `eth_chainId` from the node's first answer, so web3's per-call chain-id validation costs no round
    trip. web3 builds its middleware anew for each request: the answer is kept on the `Web3` object."""

    def wrap_make_request(self, make_request: Callable[[RPCEndpoint, Any], RPCResponse]) -> Any:
        w3 = self._w3

        def middleware(method: RPCEndpoint, params: Any) -> RPCResponse:
            if method != "eth_chainId":
                return make_request(method, params)
            answer: RPCResponse | None = getattr(w3, _CHAIN_ID_ATTRIBUTE, None)
            if answer is None:
                answer = make_request(method, params)
                if "result" in answer and "error" not in answer:
                    setattr(w3, _CHAIN_ID_ATTRIBUTE, answer)
            return answer

        return middleware


_CHAIN_ID_ATTRIBUTE = "_coopride_chain_id_answer"
