// The built-in wallet's key, kept in this browser's IndexedDB and never sent anywhere:
// encrypted with AES-GCM under a key derived from the person's passphrase (PBKDF2-SHA256).
// Unlocking stores the derived AES key as a non-extractable CryptoKey for the session, so that the
// other pages can sign without asking the passphrase again; locking or signing out deletes it.
import { createStore, del, get, set } from "idb-keyval";

const store = createStore("coopride-wallet", "keys");
export const PBKDF2_ITERATIONS = 600_000;
const MIN_PASSPHRASE = 8;

export class KeystoreError extends Error {}

const encoder = new TextEncoder();
const toBase64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const hexToBytes = (hex) => Uint8Array.from(hex.slice(2).match(/../g), (byte) => parseInt(byte, 16));
const bytesToHex = (bytes) => `0x${[...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;

async function deriveKey(passphrase, salt, iterations) {
  const material = await crypto.subtle.importKey("raw", encoder.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

async function decrypt(record, key) {
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(record.iv), additionalData: encoder.encode(record.address.toLowerCase()) },
      key,
      fromBase64(record.ciphertext),
    );
    return bytesToHex(plain);
  } catch {
    return null;
  }
}

export async function walletRecord() {
  return (await get("wallet", store)) || null;
}

/** Encrypts and stores `privateKey` (0x hex) for `address`; refuses a short passphrase. */
export async function saveWallet(privateKey, address, passphrase) {
  if (String(passphrase).length < MIN_PASSPHRASE) throw new KeystoreError("short");
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(passphrase, salt, PBKDF2_ITERATIONS);
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(address.toLowerCase()) },
    key,
    hexToBytes(privateKey),
  );
  const record = {
    version: 1, address, kdf: "PBKDF2-SHA256", iterations: PBKDF2_ITERATIONS, cipher: "AES-256-GCM",
    salt: toBase64(salt), iv: toBase64(iv), ciphertext: toBase64(ciphertext), createdAt: new Date().toISOString(),
  };
  await set("wallet", record, store);
  return record;
}

/** The private key, or a KeystoreError("wrong") when the passphrase does not open it. */
export async function openWallet(passphrase) {
  const record = await walletRecord();
  if (!record) throw new KeystoreError("missing");
  const key = await deriveKey(passphrase, fromBase64(record.salt), record.iterations);
  const privateKey = await decrypt(record, key);
  if (!privateKey) throw new KeystoreError("wrong");
  return { privateKey, key, record };
}

/** Opens the wallet and keeps it open on this device until `until` (ms since epoch) or `lock()`. */
export async function unlock(passphrase, until) {
  const { privateKey, key, record } = await openWallet(passphrase);
  await set("unlocked", { key, address: record.address, until }, store);
  return privateKey;
}

/** The private key while the wallet is unlocked, else null. */
export async function unlockedKey() {
  const [record, unlocked] = await Promise.all([walletRecord(), get("unlocked", store)]);
  if (!record || !unlocked || unlocked.address !== record.address) return null;
  if (unlocked.until <= Date.now()) {
    await del("unlocked", store);
    return null;
  }
  return decrypt(record, unlocked.key);
}

export async function lock() {
  await del("unlocked", store);
}

export async function forgetWallet() {
  await del("unlocked", store);
  await del("wallet", store);
}
