/**
 * The L3 keyring, parsed from the secret `CACHE_L3_KEY`: `id:base64key` pairs separated by
 * commas, each key 32 random bytes (AES-256). The first pair is the current key (every write
 * uses it); the others stay readable, so a key can be rotated without losing entries: put the new
 * key first, keep the old one after it until `reencrypt` has moved every entry (`stats().byKeyId`
 * shows what is left), then drop it.
 *
 * Parsing is strict and its errors name the pair to fix without echoing key material. It lives
 * in lib/ because the settings declaration (`lib/config/settings.ts`) validates the secret with it;
 * cache-manager's L3 store (`cache-manager/core/l3/`) is its user.
 *
 * @example
 * const keyring = parseKeyring("k2:" + newKey + ",k1:" + oldKey);
 * keyring.current.id   // "k2"
 */
import { randomBytes } from "node:crypto";
import { CodedError } from "./errors.ts";

/** `CACHE_L3_KEY` cannot be parsed: the message says which part to fix. */
export class L3KeyringError extends CodedError {
  static override code = "E_L3_KEYRING";
}

export const L3_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** Standard base64 of 32 bytes: 43 characters and one `=`. */
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;
const HOW = "CACHE_L3_KEY is `id:key` pairs separated by commas, the current key first; a key is 32 random bytes in base64 (`openssl rand -base64 32`)";

export interface L3Key {
  id: string;
  key: Buffer;
}

export interface L3Keyring {
  /** The key new entries are encrypted with. */
  current: L3Key;
  /** Every key that can decrypt, by id (the current one included). */
  byId: ReadonlyMap<string, Buffer>;
}

/** Parses `CACHE_L3_KEY`; throws `L3KeyringError` saying what to fix. */
export function parseKeyring(text: string): L3Keyring {
  if (typeof text !== "string" || text.trim() === "") throw new L3KeyringError(`CACHE_L3_KEY is empty. ${HOW}.`);
  const keys: L3Key[] = [];
  const pairs = text.split(",").map((pair) => pair.trim());
  pairs.forEach((pair, index) => {
    const where = `CACHE_L3_KEY pair ${index + 1}`;
    const colon = pair.indexOf(":");
    if (colon <= 0) throw new L3KeyringError(`${where} is not \`id:key\`. ${HOW}.`);
    const id = pair.slice(0, colon);
    const encoded = pair.slice(colon + 1);
    if (!KEY_ID.test(id)) throw new L3KeyringError(`${where}: the key id "${id}" must be 1 to 32 letters, digits, _ or -.`);
    if (keys.some((key) => key.id === id)) throw new L3KeyringError(`${where}: the key id "${id}" appears twice; give every key its own id.`);
    if (!BASE64_KEY.test(encoded)) {
      const decoded = /^[A-Za-z0-9+/]*={0,2}$/.test(encoded) ? Buffer.from(encoded, "base64").length : undefined;
      const problem =
        decoded === undefined
          ? "is not standard base64"
          : decoded === L3_KEY_BYTES
            ? "lacks its `=` padding (44 characters)"
            : `decodes to ${decoded} bytes, not ${L3_KEY_BYTES}`;
      throw new L3KeyringError(`${where}: the key of "${id}" ${problem}. ${HOW}.`);
    }
    keys.push({ id, key: Buffer.from(encoded, "base64") });
  });
  return { current: keys[0], byId: new Map(keys.map((key) => [key.id, key.key])) };
}

/** A fresh `id:key` pair for `CACHE_L3_KEY` (for generated development keys and tests). */
export function generateKeyPair(id: string): string {
  if (!KEY_ID.test(id)) throw new L3KeyringError(`the key id "${id}" must be 1 to 32 letters, digits, _ or -.`);
  return `${id}:${randomBytes(L3_KEY_BYTES).toString("base64")}`;
}
