// The sign-in session (EIP-4361 through /auth): a bearer token kept in this browser until it expires.
const KEY = "coopride.session";

export function currentSession() {
  let stored;
  try {
    stored = JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    stored = null;
  }
  if (!stored || !stored.token) return null;
  if (Date.parse(stored.expiresAt) <= Date.now()) {
    localStorage.removeItem(KEY);
    return null;
  }
  return stored;
}

export function saveSession(login, walletKind) {
  const stored = { token: login.access_token, address: login.address, expiresAt: login.expires_at, wallet: walletKind };
  localStorage.setItem(KEY, JSON.stringify(stored));
  return stored;
}

export function clearSession() {
  localStorage.removeItem(KEY);
}
