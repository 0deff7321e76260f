"""What can go wrong on chain, as one family of exceptions (`ChainError`), and how a revert's data becomes a
named custom error (`ErrorDecoder`).

Transport failures (connection refused, timeouts) never leave this package as themselves: the
`UnavailableNode` middleware every client's web3 carries turns them into `ChainUnavailable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import requests
from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError, ProviderConnectionError, TimeExhausted, Web3RPCError
from web3.middleware.base import Web3Middleware
from web3.types import RPCEndpoint, RPCResponse


class ChainError(RuntimeError):
    """Base of every error this package raises on purpose."""


class ChainUnavailable(ChainError):
    """The node did not answer (down, unreachable, or too slow)."""


class ChainRevert(ChainError):
    """The chain refused a call; `error_name` and `args` come from the contracts' custom errors."""

    def __init__(self, error_name: str, args: tuple[Any, ...] = (), message: str | None = None):
        self.error_name = error_name
        self.message = message or (f"{error_name}({', '.join(map(str, args))})" if args else error_name)
        super().__init__(self.message)
        self.args = tuple(args)  # the decoded error arguments, as the design names them

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ChainRevert({self.error_name!r}, {self.args!r})"


class NonceConsumed(ChainError):
    """The node already mined another transaction with this nonce."""

    def __init__(self, nonce: int):
        self.nonce = nonce
        super().__init__(f"nonce {nonce} is already used")


class NonceInUse(ChainError):
    """Another pending transaction holds this nonce; it may yet be mined, or dropped."""

    def __init__(self, nonce: int):
        self.nonce = nonce
        super().__init__(f"nonce {nonce} is held by another pending transaction")


# The transport's ways of saying "the node is not reachable right now" (as opposed to "the chain said no").
UNREACHABLE: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ProviderConnectionError,
    ConnectionError,
)

# Worth another try later: the node is unreachable, or a transaction was not mined in the time allowed.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ChainUnavailable, TimeExhausted)


class UnavailableNode(Web3Middleware):
    """Raises `ChainUnavailable` for every request the node does not answer, whichever provider is in use."""

    def wrap_make_request(
        self, make_request: Callable[[RPCEndpoint, Any], RPCResponse]
    ) -> Callable[[RPCEndpoint, Any], RPCResponse]:
        def middleware(method: RPCEndpoint, params: Any) -> RPCResponse:
            try:
                return make_request(method, params)
            except UNREACHABLE as exc:
                raise ChainUnavailable(f"{exc.__class__.__name__}: {exc}") from exc

        return middleware


class ErrorDecoder:
    """Maps 4-byte selectors to the custom errors declared in a set of ABIs."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]):
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [_abi_type(i) for i in item.get("inputs", [])]
                names = [i.get("name", "") for i in item.get("inputs", [])]
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                self._errors[selector] = (item["name"], types, names)
        self._errors[function_signature_to_4byte_selector("Error(string)")] = ("Error", ["string"], ["message"])
        self._errors[function_signature_to_4byte_selector("Panic(uint256)")] = ("Panic", ["uint256"], ["code"])

    def decode(self, data: str | bytes | None) -> ChainRevert:
        raw = HexBytes(data or b"")
        if len(raw) < 4:
            return ChainRevert("Reverted", (), "reverted without a reason")
        known = self._errors.get(bytes(raw[:4]))
        if known is None:
            return ChainRevert(
                "UnknownError", (raw.to_0x_hex(),), f"reverted with unknown error data {raw.to_0x_hex()}"
            )
        name, types, names = known
        try:
            values = tuple(_readable(v) for v in abi_decode(types, bytes(raw[4:])))
        except Exception:  # malformed error payload: still name the error
            return ChainRevert(name, (), f"{name} (undecodable arguments)")
        if name == "Error":
            return ChainRevert("Error", values, f"reverted: {values[0]}")
        args_text = ", ".join(f"{n}={v}" if n else str(v) for n, v in zip(names, values, strict=True))
        return ChainRevert(name, values, f"{name}({args_text})")

    def of_call(self, exc: ContractLogicError) -> ChainRevert:
        """The custom error a reverted `eth_call` or gas estimate carries."""
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        return self.decode(data if isinstance(data, str) and data.startswith("0x") else None)

    def of_rpc_error(self, exc: Web3RPCError) -> ChainRevert:
        """The custom error a node's JSON-RPC error carries, if it carries one."""
        response = getattr(exc, "rpc_response", None) or {}
        error = response.get("error", {}) if isinstance(response, dict) else {}
        data = error.get("data") if isinstance(error, dict) else None
        if isinstance(data, str) and data.startswith("0x"):
            return self.decode(data)
        return ChainRevert("Rejected", (), str(exc))


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def _readable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_readable(v) for v in value)
    return value
