"""Chain reads cached per block, and web3's chain-id validation answered without a round trip."""

from __future__ import annotations

import threading

from web3.middleware import Web3Middleware

from coopride.chain.cache import ReadCache


class _Recorder(Web3Middleware):
    """Records the JSON-RPC methods that reach the provider (innermost: after every other middleware)."""

    sent: list[str] = []

    def wrap_make_request(self, make_request):  # type: ignore[no-untyped-def]
        def middleware(method, params):  # type: ignore[no-untyped-def]
            _Recorder.sent.append(str(method))
            return make_request(method, params)

        return middleware


def test_a_pinned_scope_reads_the_block_number_once_and_caches_per_block():
    blocks = iter([7, 8])
    reads: list[str] = []
    cache = ReadCache(lambda: next(blocks), max_entries=2)
    assert cache.block is None

    def read(key: str) -> str:
        reads.append(key)
        return key.upper()

    with cache.pinned() as block:
        assert block == 7 and cache.block == 7
        with cache.pinned() as inner:  # a nested scope keeps the outer block
            assert inner == 7
        assert cache.get("a", block, lambda: read("a")) == "A"
        assert cache.get("a", block, lambda: read("a")) == "A"
    assert cache.block is None and reads == ["a"]
    with cache.pinned() as block:  # a new block: new keys
        assert block == 8
        cache.get("a", block, lambda: read("a"))
        cache.get("b", block, lambda: read("b"))
    assert reads == ["a", "a", "b"]
    assert len(cache._entries) == 2  # bounded: ("a", 7) dropped first
    assert cache.get("a", 8, lambda: read("a")) == "A" and reads == ["a", "a", "b"]


def test_pinned_blocks_are_per_thread():
    cache = ReadCache(lambda: 5)
    seen: list[int | None] = []
    with cache.pinned():
        thread = threading.Thread(target=lambda: seen.append(cache.block))
        thread.start()
        thread.join()
    assert seen == [None]


def test_region_reads_cost_one_round_trip_per_block_and_no_chain_id(chain_client, bootstrap_region):
    chain_client.w3.middleware_onion.inject(_Recorder, name="recorder", layer=0)
    try:
        chain_client.region(bootstrap_region)  # warms web3's chain id
        _Recorder.sent.clear()
        chain_client.region(bootstrap_region)
        chain_client.treasury_balance()
        assert _Recorder.sent == ["eth_call", "eth_call"]  # no eth_chainId per call

        _Recorder.sent.clear()
        with chain_client.reads.pinned() as block:
            first = chain_client.region(bootstrap_region)
            again = chain_client.region(bootstrap_region)
            treasury = chain_client.treasury_balance()
        assert first == again and treasury == chain_client.treasury_balance()
        assert _Recorder.sent == ["eth_blockNumber", "eth_call", "eth_call", "eth_call"]

        _Recorder.sent.clear()
        with chain_client.reads.pinned() as same_block:  # nothing mined: every read is cached
            assert same_block == block and chain_client.region(bootstrap_region) == first
        assert _Recorder.sent == ["eth_blockNumber"]
    finally:
        chain_client.w3.middleware_onion.remove("recorder")
