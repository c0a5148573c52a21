/**
 * The L3 tier's contract: a durable backup store behind L2 (PostgreSQL by default), consulted
 * after L2 and before the origin, filled asynchronously from L2, and the way back after Redis
 * loses its data. Values arrive as the envelope bytes L2 holds and come back as the same bytes;
 * each backend compresses and encrypts them at rest (`codec.ts`), so a backend never sees a
 * plaintext value on disk.
 *
 * Correctness rests on one lock with two modes (see `../tiered/README.md`, "L3 ordering"):
 * - `copy` (shared): the copier reads L2 *inside* the lock and stores what L2 holds now, so a
 *   value L2 no longer holds is never written;
 * - `invalidate` (exclusive): deletes in L3, then runs the L2 delete, then releases. A copy
 *   therefore runs wholly before (and the invalidation deletes what it wrote) or wholly after (and
 *   finds L2 without the value), and a reader that misses L2 after the delete finds L3 empty too.
 *
 * Every implementation passes the contract suite in `contract.ts`.
 */

/** One entry to store: the envelope bytes exactly as L2 holds them. */
export interface L3Entry {
  key: string;
  /** The encoded envelope (plaintext); the backend compresses and encrypts it at rest. */
  value: Buffer;
  /** Tags the key is indexed under, for `invalidate({ kind: "tags" })`. */
  tags: readonly string[];
  /** When the entry may be removed by retention (epoch ms). */
  expiresAt: number;
}

/** A stored entry, decrypted. */
export interface L3Record {
  key: string;
  value: Buffer;
  tags: string[];
  expiresAt: number;
  /** When it was last written (epoch ms). */
  writtenAt: number;
}

/** What an invalidation removes from L3. `all` is a flush. Globs follow `lib/glob.ts`. */
export type L3Invalidation =
  { kind: "keys"; keys: readonly string[] } | { kind: "pattern"; pattern: string } | { kind: "tags"; tags: readonly string[] } | { kind: "all" };

export interface L3ScanPage {
  records: L3Record[];
  /** Pass back to continue; `null` once done. */
  cursor: string | null;
}

export interface L3Stats {
  entries: number;
  /** Bytes of the stored (compressed, encrypted) payloads. */
  storedBytes: number;
  /** Bytes of the same values before compression. */
  rawBytes: number;
  /** Entries per encryption key id: what a re-encryption still has to move. */
  byKeyId: Record<string, number>;
}

export interface L3Store {
  /**
   * The records of `keys` (aligned; `undefined` where absent or past `expiresAt`). Takes the shared
   * lock: it waits for a running invalidation, never returning what that invalidation deletes.
   */
  getMany(keys: readonly string[]): Promise<(L3Record | undefined)[]>;
  /**
   * Under the shared lock: calls `current(keys)` (the copier reads L2 there) and stores what it
   * returns (upsert); resolves to how many were stored. Entries `current` leaves out are not
   * written (L2 no longer holds them, or holds a lease marker). Copies of one key run one after
   * the other, so L3 keeps the value read from L2 last.
   */
  copy(keys: readonly string[], current: (keys: readonly string[]) => Promise<L3Entry[]>): Promise<number>;
  /**
   * Under the exclusive lock: deletes what `what` names from L3, then runs `then` (the L2 delete)
   * before releasing. Resolves to how many L3 entries were deleted and `then`'s result. If L3
   * cannot be reached it rejects before `then` runs. If `then` rejects, the L3 delete stands
   * (removing more from a cache is always safe) and `invalidate` rejects with `then`'s error.
   * Readers (`getMany`, `scan`) wait while it holds the lock, so one that missed L2 after `then`
   * deleted there cannot find the old value in L3.
   */
  invalidate<T>(what: L3Invalidation, then: () => Promise<T>): Promise<{ deleted: number; result: T }>;
  /** Removes up to `limit` entries past `expiresAt`; resolves to how many. */
  purgeExpired(now: number, limit: number): Promise<number>;
  /** Pages through live entries whose key matches `pattern` (glob, default `*`), in key order. */
  scan(options: { pattern?: string; cursor?: string | null; limit: number }): Promise<L3ScanPage>;
  /** Re-encrypts up to `limit` entries written under an older key id with the current key; resolves to how many moved. */
  reencrypt(limit: number): Promise<number>;
  stats(): Promise<L3Stats>;
  /** Cheap liveness probe (for the breaker's half-open trial and health). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
