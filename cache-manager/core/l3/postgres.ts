/**
 * The PostgreSQL L3 backend over the `Sql` port (`lib/sql.ts`), on the `l3_entries` table
 * (`cache-manager/l3-migrations`). Values are sealed by `codec.ts` before they reach SQL.
 *
 * Locking (the contract's one lock, see `types.ts`) is a transaction-scoped advisory lock on one
 * constant, so it is released by COMMIT or ROLLBACK and never outlives a dropped connection:
 * - `copy` and `scan` take `pg_advisory_xact_lock_shared` and `getMany` takes it in `l3_read`
 *   (see the migration): copies and reads run side by side (copies of one key one after the
 *   other, see `L3_KEY_LOCK_CLASS`);
 * - `invalidate` takes `pg_advisory_xact_lock`, deletes, runs `then` (the L2 delete) and commits,
 *   so its delete becomes visible and the lock is released at the same instant. Readers wait for
 *   that instant: a reader that missed L2 after `then` deleted there cannot find the old value in
 *   L3 (its delete is not committed before `then` runs, so without the wait the reader would see
 *   it and refill L2 with it).
 * `purgeExpired` and `reencrypt` take no advisory lock: they re-check their condition on the row
 * they change (`expires_at <= now`, `key_id = old`), so a concurrent copy's fresh row is left
 * alone and a deleted row is skipped.
 *
 * @example
 * const store = await openPostgresL3(encoreSql(l3db), { keyring: parseKeyring(process.env.CACHE_L3_KEY!) });
 * await store.copy(["product:1"], (keys) => readFromL2(keys));
 */
import type { Sql, SqlQuery } from "../../../lib/sql.ts";
import { compileGlob, matchesEverything } from "../../../lib/glob.ts";
import { seal, unseal } from "./codec.ts";
import { L3ArgumentError, L3UnavailableError } from "./errors.ts";
import { likeOfGlob } from "./glob-sql.ts";
import { checkKeyring } from "./key-check.ts";
import type { L3Keyring } from "../../../lib/l3-keyring.ts";
import type { L3Entry, L3Invalidation, L3Record, L3ScanPage, L3Stats, L3Store } from "./types.ts";

/** The advisory lock's key: "CachetL3" in ASCII, so it does not collide with other users of advisory locks in a shared database. */
export const L3_LOCK_KEY = "4855379593062378547";
/**
 * Copies of one key are serialised by exclusive advisory locks on the key (two-int form: this
 * class and `hashtext(key)`), taken in ascending order (no deadlock between copies) before
 * `current()` reads L2. Without them two overlapping copies of a key could read L2 in one order
 * and commit in the other, leaving L3 with the older value. Copies of other keys do not wait
 * (unless their hashes collide). A copy transaction holds at most `COPY_CHUNK` of these locks
 * (the server's shared lock table has room for max_locks_per_transaction (64) × max_connections
 * (100) = 6,400 by default, for every copy in flight); a larger copy runs in several.
 */
const L3_KEY_LOCK_CLASS = 1278423859;
const COPY_CHUNK = 256;
const LOCK_KEYS = `
  SELECT count(pg_advisory_xact_lock($1::int, h)) AS n
  FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS hashes`;
/** Keys per `l3_read` statement: a large `getMany` is split, bounding each statement and its result. */
const READ_CHUNK = 1_000;
/** Rows a non-exact pattern invalidation examines per statement (bounds its memory). */
const PATTERN_PAGE = 10_000;

export interface PostgresL3Options {
  keyring: L3Keyring;
  /** Epoch milliseconds; injected by tests. */
  clock?: () => number;
}

interface EntryRow {
  key: string;
  expires_at: number | string;
  written_at: number | string;
  key_id: string;
  tags: string[];
  payload: Buffer;
}

/**
 * Rows of `unnest` arrays for one batched upsert. The payloads travel as one binary parameter
 * (every row's bytes, one after the other) with each row's offset and length: no base64 or
 * array escaping of the largest column, which was most of the statement's cost.
 */
interface Batch {
  keys: string[];
  expires: number[];
  writtenAt: number;
  rawSizes: number[];
  keyIds: string[];
  tags: string[];
  payloads: Buffer;
  offsets: number[];
  lengths: number[];
}

/** The one upsert statement: one row per entry of the unnest arrays. */
const UPSERT = `
  INSERT INTO l3_entries (key, expires_at, written_at, raw_size, key_id, tags, payload)
  SELECT k, e, $3::bigint, r, i, ARRAY(SELECT jsonb_array_elements_text(t::jsonb)), substring($7::bytea FROM o FOR l)
  FROM unnest($1::text[], $2::bigint[], $4::int[], $5::text[], $6::text[], $8::int[], $9::int[]) AS u(k, e, r, i, t, o, l)
  ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at, written_at = EXCLUDED.written_at, raw_size = EXCLUDED.raw_size,
    key_id = EXCLUDED.key_id, tags = EXCLUDED.tags, payload = EXCLUDED.payload`;

const count = (rows: Array<{ n: number | string }>) => Number(rows[0]?.n ?? 0);

/** Opens the store: checks that `keyring` decrypts what is stored (throws `L3KeyMismatchError` naming the key id otherwise). */
export async function openPostgresL3(sql: Sql, options: PostgresL3Options): Promise<L3Store> {
  const clock = options.clock ?? Date.now;
  await checkKeyring(sql, options.keyring, clock);
  return new PostgresL3Store(sql, options.keyring, clock);
}

class PostgresL3Store implements L3Store {
  constructor(
    private readonly sql: Sql,
    private readonly keyring: L3Keyring,
    private readonly clock: () => number,
  ) {}

  async getMany(keys: readonly string[]): Promise<(L3Record | undefined)[]> {
    if (keys.length === 0) return [];
    const unique = [...new Set(keys)];
    const byKey = new Map<string, L3Record>();
    for (let from = 0; from < unique.length; from += READ_CHUNK) {
      const chunk = unique.slice(from, from + READ_CHUNK);
      const rows = await this.run("read", () =>
        this.sql.query<EntryRow>("SELECT * FROM l3_read($1::bigint, $2::text[], $3::bigint)", [L3_LOCK_KEY, chunk, this.clock()]),
      );
      for (const record of await Promise.all(rows.map((row) => this.recordOf(row)))) byKey.set(record.key, record);
    }
    return keys.map((key) => byKey.get(key));
  }

  async copy(keys: readonly string[], current: (keys: readonly string[]) => Promise<L3Entry[]>): Promise<number> {
    let stored = 0;
    for (let from = 0; from < keys.length; from += COPY_CHUNK) stored += await this.copyChunk(keys.slice(from, from + COPY_CHUNK), current);
    return stored;
  }

  private copyChunk(keys: readonly string[], current: (keys: readonly string[]) => Promise<L3Entry[]>): Promise<number> {
    return this.run("copy", () =>
      this.sql.transaction(async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock_shared($1::bigint)", [L3_LOCK_KEY]);
        await tx.query(LOCK_KEYS, [L3_KEY_LOCK_CLASS, [...keys]]);
        const entries = latestPerKey(await current(keys));
        if (entries.length === 0) return 0;
        await tx.query(UPSERT, batchParams(await this.sealAll(entries)));
        return entries.length;
      }),
    );
  }

  async invalidate<T>(what: L3Invalidation, then: () => Promise<T>): Promise<{ deleted: number; result: T }> {
    const plan = deletionOf(what);
    let thenRan = false;
    let outcome: { deleted: number; result?: T; failure?: { error: unknown } };
    try {
      outcome = await this.sql.transaction(async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [L3_LOCK_KEY]);
        const deleted = await plan(tx);
        thenRan = true;
        try {
          return { deleted, result: await then() };
        } catch (error) {
          return { deleted, failure: { error } }; // the L3 delete commits all the same
        }
      });
    } catch (error) {
      if (!thenRan) throw L3UnavailableError.from(error, "L3 invalidation");
      const detail = error instanceof Error ? error.message : String(error);
      throw new L3UnavailableError(`L3 invalidation: the L2 delete ran but the L3 delete did not commit (${detail}); retry the invalidation`, { cause: error });
    }
    if (outcome.failure) throw outcome.failure.error;
    return { deleted: outcome.deleted, result: outcome.result as T };
  }

  async purgeExpired(now: number, limit: number): Promise<number> {
    const rows = await this.run("purge expired entries", () =>
      this.sql.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM l3_entries WHERE key IN (SELECT key FROM l3_entries WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2) AND expires_at <= $1
           RETURNING 1)
         SELECT count(*) AS n FROM gone`,
        [now, limit],
      ),
    );
    return count(rows);
  }

  async scan(options: { pattern?: string; cursor?: string | null; limit: number }): Promise<L3ScanPage> {
    const pattern = options.pattern ?? "*";
    const { like, exact } = likeOfGlob(pattern);
    const matches = exact ? undefined : compileGlob(pattern);
    const after = options.cursor === undefined || options.cursor === null ? null : cursorKey(options.cursor);
    const limit = Math.max(1, Math.floor(options.limit));
    const rows = await this.run("scan", () =>
      this.sql.transaction(async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock_shared($1::bigint)", [L3_LOCK_KEY]);
        return tx.query<EntryRow>(
          `SELECT key, expires_at, written_at, key_id, tags, payload FROM l3_entries
           WHERE ($1::text IS NULL OR key > $1) AND key LIKE $2 AND expires_at > $3
           ORDER BY key LIMIT $4`,
          [after, like, this.clock(), limit],
        );
      }),
    );
    const records = await Promise.all(rows.filter((row) => !matches || matches(row.key)).map((row) => this.recordOf(row)));
    return { records, cursor: rows.length < limit ? null : Buffer.from(rows.at(-1)!.key, "utf8").toString("base64url") };
  }

  async reencrypt(limit: number): Promise<number> {
    const current = this.keyring.current.id;
    const rows = await this.run("find entries under old keys", () =>
      this.sql.query<EntryRow & { raw_size: number }>(
        `SELECT key, expires_at, written_at, raw_size, key_id, tags, payload FROM l3_entries
         WHERE key_id < $1 OR key_id > $1 LIMIT $2`,
        [current, Math.max(1, Math.floor(limit))],
      ),
    );
    if (rows.length === 0) return 0;
    const keys: string[] = [];
    const olds: string[] = [];
    const payloads: string[] = [];
    for (const row of rows) {
      const value = await unseal(this.keyring, "entry", row.key, row.key_id, row.payload);
      keys.push(row.key);
      olds.push(row.key_id);
      payloads.push((await seal(this.keyring, "entry", row.key, value)).payload.toString("base64"));
    }
    // Only rows still under the key they were read with: a copy in between wrote the current key.
    const moved = await this.run("re-encrypt", () =>
      this.sql.query<{ n: number }>(
        `WITH moved AS (
           UPDATE l3_entries e SET key_id = $1, payload = decode(u.p, 'base64')
           FROM unnest($2::text[], $3::text[], $4::text[]) AS u(k, o, p)
           WHERE e.key = u.k AND e.key_id = u.o
           RETURNING 1)
         SELECT count(*) AS n FROM moved`,
        [current, keys, olds, payloads],
      ),
    );
    return count(moved);
  }

  async stats(): Promise<L3Stats> {
    const rows = await this.run("stats", () =>
      this.sql.query<{ key_id: string; entries: number | string; stored: number | string; raw: number | string }>(
        "SELECT key_id, count(*) AS entries, sum(octet_length(payload)) AS stored, sum(raw_size) AS raw FROM l3_entries GROUP BY key_id",
      ),
    );
    const stats: L3Stats = { entries: 0, storedBytes: 0, rawBytes: 0, byKeyId: {} };
    for (const row of rows) {
      stats.entries += Number(row.entries);
      stats.storedBytes += Number(row.stored);
      stats.rawBytes += Number(row.raw);
      stats.byKeyId[row.key_id] = Number(row.entries);
    }
    return stats;
  }

  async ping(): Promise<void> {
    await this.run("ping", () => this.sql.query("SELECT 1"));
  }

  async close(): Promise<void> {
    // The connection pool belongs to the Sql port's owner (the SQLDatabase); nothing to release.
  }

  private async recordOf(row: EntryRow): Promise<L3Record> {
    const value = await unseal(this.keyring, "entry", row.key, row.key_id, row.payload);
    return { key: row.key, value, tags: row.tags, expiresAt: Number(row.expires_at), writtenAt: Number(row.written_at) };
  }

  private async sealAll(entries: readonly L3Entry[]): Promise<Batch> {
    const sealed = await Promise.all(entries.map((entry) => seal(this.keyring, "entry", entry.key, entry.value)));
    const offsets: number[] = [];
    let offset = 1; // substring() counts from 1
    for (const { payload } of sealed) {
      offsets.push(offset);
      offset += payload.length;
    }
    return {
      keys: entries.map((entry) => entry.key),
      expires: entries.map((entry) => Math.floor(entry.expiresAt)),
      writtenAt: this.clock(),
      rawSizes: entries.map((entry) => entry.value.length),
      keyIds: sealed.map((s) => s.keyId),
      tags: entries.map((entry) => JSON.stringify(entry.tags)),
      payloads: Buffer.concat(sealed.map((s) => s.payload)),
      offsets,
      lengths: sealed.map((s) => s.payload.length),
    };
  }

  /** Runs a statement, turning driver failures into `L3UnavailableError`. */
  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw L3UnavailableError.from(error, `L3 ${what}`);
    }
  }
}

const batchParams = (b: Batch) => [b.keys, b.expires, b.writtenAt, b.rawSizes, b.keyIds, b.tags, b.payloads, b.offsets, b.lengths];

/** One entry per key (the last one given): one upsert statement cannot change a row twice. */
function latestPerKey(entries: readonly L3Entry[]): L3Entry[] {
  return [...new Map(entries.map((entry) => [entry.key, entry])).values()];
}

function cursorKey(cursor: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new L3ArgumentError("the cursor is not one this store returned; start the scan again without a cursor");
  return Buffer.from(cursor, "base64url").toString("utf8");
}

/** The delete an invalidation runs inside the exclusive lock; resolves to how many rows it removed. */
function deletionOf(what: L3Invalidation): (tx: SqlQuery) => Promise<number> {
  switch (what.kind) {
    case "keys":
      return async (tx) =>
        count(
          await tx.query<{ n: number }>(`WITH gone AS (DELETE FROM l3_entries WHERE key = ANY ($1::text[]) RETURNING 1) SELECT count(*) AS n FROM gone`, [
            [...what.keys],
          ]),
        );
    case "tags":
      return async (tx) =>
        count(
          await tx.query<{ n: number }>(
            `WITH gone AS (DELETE FROM l3_entries WHERE tags && $1::text[] AND tags <> '{}' RETURNING 1) SELECT count(*) AS n FROM gone`,
            [[...what.tags]],
          ),
        );
    case "all":
      return deleteAll;
    case "pattern":
      likeOfGlob(what.pattern); // refuses an invalid glob before anything runs
      return matchesEverything(what.pattern) ? deleteAll : deleteMatching(what.pattern);
  }
}

/**
 * TRUNCATE, not DELETE: a flush of millions of rows is instant and leaves nothing to vacuum. It
 * is safe here: it runs inside the exclusive advisory lock, so no copy or read of ours is in
 * the table (readers take the advisory lock before touching it); retention and re-encryption,
 * which do not take that lock, are waited for by TRUNCATE's own table lock.
 */
async function deleteAll(tx: SqlQuery): Promise<number> {
  const deleted = count(await tx.query<{ n: number }>("SELECT count(*) AS n FROM l3_entries"));
  await tx.query("TRUNCATE l3_entries");
  return deleted;
}

function deleteMatching(pattern: string): (tx: SqlQuery) => Promise<number> {
  const { like, exact } = likeOfGlob(pattern);
  if (exact) {
    return async (tx) =>
      count(await tx.query<{ n: number }>(`WITH gone AS (DELETE FROM l3_entries WHERE key LIKE $1 RETURNING 1) SELECT count(*) AS n FROM gone`, [like]));
  }
  const matches = compileGlob(pattern);
  // `?` and `[...]` are byte-wise: page through the LIKE candidates and delete the keys the glob matches.
  return async (tx) => {
    let deleted = 0;
    let after: string | null = null;
    for (;;) {
      const rows: Array<{ key: string }> = await tx.query<{ key: string }>(
        "SELECT key FROM l3_entries WHERE ($1::text IS NULL OR key > $1) AND key LIKE $2 ORDER BY key LIMIT $3",
        [after, like, PATTERN_PAGE],
      );
      const doomed = rows.map((row) => row.key).filter(matches);
      if (doomed.length > 0) {
        deleted += count(
          await tx.query<{ n: number }>(`WITH gone AS (DELETE FROM l3_entries WHERE key = ANY ($1::text[]) RETURNING 1) SELECT count(*) AS n FROM gone`, [
            doomed,
          ]),
        );
      }
      if (rows.length < PATTERN_PAGE) return deleted;
      after = rows.at(-1)!.key;
    }
  };
}
