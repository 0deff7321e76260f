// Sign-in with Ethereum (EIP-4361) through the API's /auth routes: the server writes the message,
// the wallet signs it with personal_sign, the server returns a bearer session.
import { api } from "./api.js";
import { saveSession } from "./session.js";

function utf8ToHex(text) {
  return `0x${[...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function signIn(wallet) {
  const [address] = await wallet.request({ method: "eth_requestAccounts" });
  const challenge = await api("/auth/nonce", { method: "POST", body: { address }, auth: false });
  const signature = await wallet.request({ method: "personal_sign", params: [utf8ToHex(challenge.message), address] });
  const login = await api("/auth/login", { method: "POST", body: { message: challenge.message, signature }, auth: false });
  return saveSession(login, wallet.kind);
}
