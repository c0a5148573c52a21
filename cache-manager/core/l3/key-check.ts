/**
 * The start-up proof that `CACHE_L3_KEY` fits what L3 holds, on the `l3_key_checks` table: one
 * record per key id, a known text sealed under that id's key. `checkKeyring` throws
 * `L3KeyMismatchError` (naming `CACHE_L3_KEY` and the key id) when a key id's key changed, or
 * when entries are stored under a key id the keyring no longer holds; it writes a record for each
 * keyring key that has none, and retires the record of a key id that left the keyring once no
 * entry uses it.
 */
import type { L3Keyring } from "../../../lib/l3-keyring.ts";
import type { Sql } from "../../../lib/sql.ts";
import { seal, unseal } from "./codec.ts";
import { L3KeyMismatchError, L3UnavailableError } from "./errors.ts";

const KEY_CHECK_NAME = "CACHE_L3_KEY";
const KEY_CHECK_TEXT = Buffer.from("cachet l3 key check v1");

async function query<T extends Record<string, unknown>>(sql: Sql, what: string, text: string, params: unknown[] = []): Promise<T[]> {
  try {
    return await sql.query<T>(text, params);
  } catch (error) {
    throw L3UnavailableError.from(error, `L3 ${what}`);
  }
}

async function verify(keyring: L3Keyring, id: string, payload: Uint8Array): Promise<void> {
  try {
    const text = await unseal(keyring, "key-check", KEY_CHECK_NAME, id, payload);
    if (text.equals(KEY_CHECK_TEXT)) return;
  } catch {
    // reported below
  }
  throw new L3KeyMismatchError(
    `CACHE_L3_KEY's key for id "${id}" is not the key L3 entries were encrypted with under that id: restore the original key for "${id}", or give the new key a new id`,
  );
}

export async function checkKeyring(sql: Sql, keyring: L3Keyring, clock: () => number): Promise<void> {
  const checks = await query<{ key_id: string; payload: Uint8Array }>(sql, "read the key checks", "SELECT key_id, payload FROM l3_key_checks");
  for (const check of checks) {
    if (keyring.byId.has(check.key_id)) {
      await verify(keyring, check.key_id, check.payload);
      continue;
    }
    const used = await query(sql, "look for entries under a retired key", "SELECT 1 FROM l3_entries WHERE key_id = $1 LIMIT 1", [check.key_id]);
    if (used.length > 0) {
      throw new L3KeyMismatchError(
        `L3 entries are encrypted under key id "${check.key_id}", which CACHE_L3_KEY does not hold: add "${check.key_id}:<its key>" after the current key (keep it until stats().byKeyId shows no entry under it)`,
      );
    }
    await query(sql, "retire a key check", "DELETE FROM l3_key_checks WHERE key_id = $1", [check.key_id]);
  }
  for (const [id, key] of keyring.byId) {
    if (checks.some((check) => check.key_id === id)) continue;
    const sealed = await seal({ current: { id, key }, byId: keyring.byId }, "key-check", KEY_CHECK_NAME, KEY_CHECK_TEXT);
    const [stored] = await query(
      sql,
      "write a key check",
      "INSERT INTO l3_key_checks (key_id, payload, created_at) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING RETURNING key_id",
      [id, sealed.payload, clock()],
    );
    if (stored) continue;
    // Another process wrote this id's check first, perhaps with another key: verify what won.
    const [existing] = await query<{ payload: Uint8Array }>(sql, "read a key check", "SELECT payload FROM l3_key_checks WHERE key_id = $1", [id]);
    if (existing) await verify(keyring, id, existing.payload);
  }
}
