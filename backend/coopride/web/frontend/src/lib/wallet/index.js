// One provider interface for every wallet: `request({method, params})` (EIP-1193) with
// eth_requestAccounts, personal_sign and eth_signTypedData_v4. The person picks a browser wallet
// (window.ethereum: MetaMask, Rabby, Frame, Brave...) or the built-in one; the choice is remembered.
import * as keystore from "./keystore.js";

const KIND = "coopride.wallet";

export class WalletLocked extends Error {}
export class NoWallet extends Error {}

export function injectedAvailable() {
  return typeof window.ethereum !== "undefined" && window.ethereum !== null && typeof window.ethereum.request === "function";
}

export function chosenKind() {
  return localStorage.getItem(KIND);
}

export function choose(kind) {
  localStorage.setItem(KIND, kind);
}

export function forgetChoice() {
  localStorage.removeItem(KIND);
}

async function builtinProvider(privateKey) {
  const { BuiltinProvider } = await import("./builtin.js");
  return new BuiltinProvider(privateKey);
}

/** The chosen wallet's provider. Throws WalletLocked when the built-in wallet needs its passphrase. */
export async function provider() {
  const kind = chosenKind();
  if (kind === "injected") {
    if (!injectedAvailable()) throw new NoWallet("injected");
    const injected = window.ethereum;
    return { kind: "injected", request: (args) => injected.request(args) };
  }
  if (kind === "builtin") {
    const privateKey = await keystore.unlockedKey();
    if (!privateKey) throw new WalletLocked();
    return builtinProvider(privateKey);
  }
  throw new NoWallet("none");
}

/** Unlocks the built-in wallet until `until` and returns its provider. */
export async function unlockBuiltin(passphrase, until) {
  const privateKey = await keystore.unlock(passphrase, until);
  return builtinProvider(privateKey);
}

export { keystore };
