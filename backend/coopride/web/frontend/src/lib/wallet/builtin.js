// The built-in wallet as an EIP-1193 provider: the same `request({method, params})` a browser wallet answers.
// Loaded only when someone uses it (viem's key and signing code).
import { getAddress, hexToBytes, isHex, numberToHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { config } from "../config.js";
import { parseJson } from "../json.js";

export { generatePrivateKey };

export function addressOf(privateKey) {
  return privateKeyToAccount(privateKey).address;
}

export function normalisePrivateKey(text) {
  const hex = String(text).trim().replace(/^(0x)?/i, "0x").toLowerCase();
  if (!/^0x[0-9a-f]{64}$/.test(hex)) return null;
  try {
    privateKeyToAccount(hex);
    return hex;
  } catch {
    return null;
  }
}

class ProviderRpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** uint/int fields as BigInt, whatever JSON made of them (number, decimal string). */
function withIntegers(types, typeName, value) {
  const fields = types[typeName];
  if (!fields) {
    if (/^u?int\d*$/.test(typeName)) return BigInt(value);
    if (typeName.endsWith("[]")) return value.map((item) => withIntegers(types, typeName.slice(0, -2), item));
    return value;
  }
  return Object.fromEntries(fields.map((field) => [field.name, withIntegers(types, field.type, value[field.name])]));
}

export class BuiltinProvider {
  constructor(privateKey) {
    this.kind = "builtin";
    this.account = privateKeyToAccount(privateKey);
  }

  checkAddress(address) {
    if (getAddress(address) !== this.account.address) {
      throw new ProviderRpcError(4100, `this wallet holds ${this.account.address}, not ${address}`);
    }
  }

  async request({ method, params = [] }) {
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return [this.account.address];
      case "eth_chainId":
        return numberToHex(config.chainId);
      case "personal_sign": {
        const [message, address] = params;
        this.checkAddress(address);
        return this.account.signMessage({ message: isHex(message) ? { raw: hexToBytes(message) } : message });
      }
      case "eth_signTypedData_v4": {
        const [address, data] = params;
        this.checkAddress(address);
        const typed = typeof data === "string" ? parseJson(data) : data;
        const { EIP712Domain: _domainFields, ...types } = typed.types;
        const domain = { ...typed.domain, chainId: Number(typed.domain.chainId) };
        const message = withIntegers(types, typed.primaryType, typed.message);
        return this.account.signTypedData({ domain, types, primaryType: typed.primaryType, message });
      }
      default:
        throw new ProviderRpcError(4200, `the built-in wallet does not support ${method}`);
    }
  }
}
