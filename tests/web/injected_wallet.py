"""A browser wallet extension, as the page sees one: `window.ethereum` with EIP-1193's `request`, backed by a
local key held in the test (as MetaMask holds yours), signing with eth_account."""

from __future__ import annotations

import json

from eth_account import Account
from eth_account.messages import encode_defunct

SHIM = """
window.ethereum = {
  isTestWallet: true,
  async request({ method, params }) {
    const answer = JSON.parse(await window.__testWallet(JSON.stringify({ method, params: params || [] })));
    if (answer.error) {
      const error = new Error(answer.error.message);
      error.code = answer.error.code;
      throw error;
    }
    return answer.result;
  },
};
"""


def _with_integers(types: dict, type_name: str, value):
    if type_name in types:
        return {field["name"]: _with_integers(types, field["type"], value[field["name"]]) for field in types[type_name]}
    if type_name.startswith(("uint", "int")):
        return int(value)
    return value


class InjectedWallet:
    """Counts what it was asked to sign; `refuse` makes it answer like a person clicking "Reject" (4001)."""

    def __init__(self):
        self.account = Account.create()
        self.requests: list[str] = []
        self.refuse = False

    @property
    def address(self) -> str:
        return self.account.address

    def install(self, context) -> None:
        context.expose_binding("__testWallet", lambda _source, payload: json.dumps(self.answer(json.loads(payload))))
        context.add_init_script(SHIM)

    def answer(self, call: dict) -> dict:
        method, params = call["method"], call["params"]
        self.requests.append(method)
        if method in ("eth_requestAccounts", "eth_accounts"):
            return {"result": [self.address]}
        if method in ("personal_sign", "eth_signTypedData_v4") and self.refuse:
            return {"error": {"code": 4001, "message": "User rejected the request."}}
        if method == "personal_sign":
            message, address = params
            assert address.lower() == self.address.lower()
            signed = self.account.sign_message(encode_defunct(hexstr=message))
            return {"result": "0x" + bytes(signed.signature).hex()}
        if method == "eth_signTypedData_v4":
            address, data = params
            assert address.lower() == self.address.lower()
            typed = json.loads(data)
            typed["message"] = _with_integers(typed["types"], typed["primaryType"], typed["message"])
            typed["domain"]["chainId"] = int(typed["domain"]["chainId"])
            signed = self.account.sign_typed_data(full_message=typed)
            return {"result": "0x" + bytes(signed.signature).hex()}
        return {"error": {"code": 4200, "message": f"unsupported method {method}"}}
