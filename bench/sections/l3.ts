/**
 * Section 9: the L3 store (`cache-manager/core/l3/postgres.ts`) on a real PostgreSQL server with
 * durable settings (fsync and synchronous commit on, 128 MB shared buffers): write throughput of
 * `copy()` batches while it loads the entries (each one really compressed and encrypted), bytes
 * on disk per entry against the raw JSON, L3 hit latency of `getMany([key])` with every entry
 * loaded (1,000,000 in a full run), and the cost of `stats()` and of a pattern invalidation at
 * that size. Values are ~850-byte product-like JSON envelopes, as L2 holds them.
 */
import { fileURLToPath } from "node:url";
import { DatabaseRuntime, setDatabaseRuntime } from "../../infra/node-host/runtime/sqldb.ts";
import { startPostgresServer } from "../../infra/node-host/testing/postgres.ts";
import { SQLDatabase } from "../../infra/node-host/encore/sqldb.ts";
import { openPostgresL3 } from "../../cache-manager/core/l3/postgres.ts";
import type { L3Entry, L3Store } from "../../cache-manager/core/l3/types.ts";
import { generateKeyPair, parseKeyring } from "../../lib/l3-keyring.ts";
import { encoreSql } from "../../lib/sql.ts";
import { percentile } from "../../lib/metrics/percentile.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { bytes, ms, rate } from "../lib/stats.ts";

const SETTINGS: Record<Mode, { entries: number; batch: number; inFlight: number; reads: number; readers: number }> = {
  tiny: { entries: 10_000, batch: 500, inFlight: 4, reads: 1_000, readers: 8 },
  quick: { entries: 100_000, batch: 500, inFlight: 4, reads: 5_000, readers: 8 },
  full: { entries: 1_000_000, batch: 500, inFlight: 4, reads: 20_000, readers: 8 },
};

const WORDS = (
  "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango " +
  "uniform victor whiskey xray yankee zulu durable steel handle ergonomic wireless compact premium organic recycled classic"
).split(" ");

/** A deterministic ~850-byte product envelope (`{v, t, f}`), its text varied per key. */
function productEnvelope(i: number, freshUntil: number): Buffer {
  let state = (i * 2654435761) >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
  const words = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(" ");
  const value = {
    id: i,
    sku: `SKU-${String(i).padStart(7, "0")}`,
    name: words(4),
    price: Math.round(random() * 100_000) / 100,
    currency: "EUR",
    stock: Math.floor(random() * 500),
    category: words(1),
    brand: words(1),
    description: words(60),
    attributes: { color: words(1), size: words(1), weight: Math.round(random() * 1000) / 100, material: words(1) },
    images: [`https://cdn.example.com/p/${i}/1.jpg`, `https://cdn.example.com/p/${i}/2.jpg`],
    rating: Math.round(random() * 50) / 10,
    reviews: Math.floor(random() * 2000),
    updatedAt: new Date(1.7e12 + i * 1000).toISOString(),
  };
  return Buffer.from(JSON.stringify({ v: value, t: [`category:${value.category}`, `brand:${value.brand}`], f: freshUntil }));
}

const keyOf = (i: number) => `product:${i}`;

interface L3Figures {
  entries: number;
  load: { seconds: number; entriesPerSec: number; batch: number; inFlight: number };
  disk: {
    totalBytes: number;
    heapBytes: number;
    indexBytes: number;
    rawBytes: number;
    storedBytes: number;
    perEntry: number;
    rawPerEntry: number;
    payloadPerEntry: number;
  };
  hit: { p50: number; p95: number; p99: number; readsPerSec: number };
  hitLoaded: { p50: number; p95: number; p99: number; readers: number; readsPerSec: number };
  statsMs: number;
  patternInvalidation: { deleted: number; ms: number };
}

/** Loads `settings.entries` entries through `copy()` batches, `inFlight` at a time; resolves to seconds taken. */
async function load(store: L3Store, count: number, batch: number, inFlight: number, expiresAt: number, log: (line: string) => void): Promise<number> {
  let next = 0;
  let done = 0;
  let lastLog = performance.now();
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const from = next;
      next = Math.min(count, next + batch);
      const entries: L3Entry[] = [];
      for (let i = from; i < next; i++) entries.push({ key: keyOf(i), value: productEnvelope(i, expiresAt), tags: [`shard:${i % 64}`], expiresAt });
      await store.copy(
        entries.map((e) => e.key),
        async () => entries,
      );
      done += entries.length;
      if (performance.now() - lastLog > 15_000) {
        lastLog = performance.now();
        log(`  l3: ${done.toLocaleString("en")} of ${count.toLocaleString("en")} entries loaded`);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (performance.now() - started) / 1000;
}

async function readLatencies(store: L3Store, count: number, samples: number, readers: number): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let issued = 0;
  let state = 12345;
  const started = performance.now();
  const reader = async () => {
    while (issued < samples) {
      issued++;
      state = (state * 1103515245 + 12345) >>> 0;
      const key = keyOf(state % count);
      const t = performance.now();
      const [record] = await store.getMany([key]);
      latencies.push(performance.now() - t);
      if (!record) throw new Error(`${key} is missing from L3`);
    }
  };
  await Promise.all(Array.from({ length: readers }, reader));
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

async function measure(mode: Mode, log: (line: string) => void): Promise<L3Figures> {
  const settings = SETTINGS[mode];
  // Durable, as production would run it (the test helper's defaults trade durability for speed).
  const server = await startPostgresServer({ settings: { fsync: "on", synchronous_commit: "on", full_page_writes: "on" } });
  // cache-manager's `l3` database as the Node host runs it (the bench runs without the host's
  // module hooks, so it names the database through the host's SQLDatabase rather than db.ts).
  const runtime = new DatabaseRuntime({
    appRoot: fileURLToPath(new URL("../..", import.meta.url)),
    databaseUrl: server.url,
    databases: [{ name: "l3", service: "cache-manager", migrations: "cache-manager/l3-migrations", pos: { file: "cache-manager/db.ts", line: 1, column: 1 } }],
    log: () => undefined,
  });
  setDatabaseRuntime(runtime);
  const l3db = SQLDatabase.named("l3");
  try {
    const sql = encoreSql(l3db);
    const store = await openPostgresL3(sql, { keyring: parseKeyring(generateKeyPair("bench")) });
    const expiresAt = Date.now() + 7 * 24 * 3_600_000;
    const loadSeconds = await load(store, settings.entries, settings.batch, settings.inFlight, expiresAt, log);
    await l3db.rawExec("VACUUM ANALYZE l3_entries");

    const [sizes] = await sql.query<{ total: number; heap: number; indexes: number }>(
      "SELECT pg_total_relation_size('l3_entries') AS total, pg_relation_size('l3_entries') + pg_relation_size(reltoastrelid) AS heap, pg_indexes_size('l3_entries') AS indexes FROM pg_class WHERE relname = 'l3_entries'",
    );
    let started = performance.now();
    const stats = await store.stats();
    const statsMs = performance.now() - started;

    await readLatencies(store, settings.entries, Math.min(1_000, settings.reads), 1); // warm-up
    const sequential = await readLatencies(store, settings.entries, settings.reads, 1);
    const loaded = await readLatencies(store, settings.entries, settings.reads, settings.readers);

    started = performance.now();
    // product:12* → about 1 key in 9 below 1,000,000 (product:12, product:120..129, ...).
    const { deleted } = await store.invalidate({ kind: "pattern", pattern: "product:12*" }, async () => undefined);
    const patternMs = performance.now() - started;

    return {
      entries: stats.entries,
      load: { seconds: loadSeconds, entriesPerSec: settings.entries / loadSeconds, batch: settings.batch, inFlight: settings.inFlight },
      disk: {
        totalBytes: Number(sizes.total),
        heapBytes: Number(sizes.heap),
        indexBytes: Number(sizes.indexes),
        rawBytes: stats.rawBytes,
        storedBytes: stats.storedBytes,
        perEntry: Number(sizes.total) / stats.entries,
        rawPerEntry: stats.rawBytes / stats.entries,
        payloadPerEntry: stats.storedBytes / stats.entries,
      },
      hit: {
        p50: percentile(sequential.latencies, 50),
        p95: percentile(sequential.latencies, 95),
        p99: percentile(sequential.latencies, 99),
        readsPerSec: sequential.latencies.length / sequential.seconds,
      },
      hitLoaded: {
        p50: percentile(loaded.latencies, 50),
        p95: percentile(loaded.latencies, 95),
        p99: percentile(loaded.latencies, 99),
        readers: settings.readers,
        readsPerSec: loaded.latencies.length / loaded.seconds,
      },
      statsMs,
      patternInvalidation: { deleted, ms: patternMs },
    };
  } finally {
    await runtime.close();
    setDatabaseRuntime(undefined);
    await server.stop();
  }
}

export async function runL3(mode: Mode, log: (line: string) => void): Promise<Omit<SectionResult, "seconds">> {
  const f = await measure(mode, log);
  const n = f.entries.toLocaleString("en");
  return {
    id: "l3",
    title: "9. L3 store in PostgreSQL",
    tables: [
      {
        title: `L3 hit: getMany of one key, ${n} entries`,
        header: ["clients", "p50", "p95", "p99", "reads/s"],
        rows: [
          ["1", ms(f.hit.p50), ms(f.hit.p95), ms(f.hit.p99), rate(f.hit.readsPerSec)],
          [String(f.hitLoaded.readers), ms(f.hitLoaded.p50), ms(f.hitLoaded.p95), ms(f.hitLoaded.p99), rate(f.hitLoaded.readsPerSec)],
        ],
      },
      {
        title: "Bytes per entry",
        header: ["raw JSON", "stored payload (brotli + AES-GCM)", "on disk (table, TOAST, indexes)", "of which indexes"],
        rows: [[bytes(f.disk.rawPerEntry), bytes(f.disk.payloadPerEntry), bytes(f.disk.perEntry), bytes(f.disk.indexBytes / f.entries)]],
      },
      {
        title: "Writes and maintenance",
        header: ["copy() throughput", "load time", "stats()", "invalidate product:12*"],
        rows: [
          [
            `${rate(f.load.entriesPerSec)} entries/s`,
            ms(f.load.seconds * 1000),
            ms(f.statsMs),
            `${f.patternInvalidation.deleted.toLocaleString("en")} keys in ${ms(f.patternInvalidation.ms)}`,
          ],
        ],
      },
    ],
    notes: [
      `${n} product-like JSON envelopes written through \`copy()\` in batches of ${f.load.batch}, ${f.load.inFlight} batches in flight (each entry compressed and encrypted in this process; the store commits at most 256 keys per transaction, each key locked while its copy reads L2 and writes); PostgreSQL with fsync and synchronous commit on.${mode === "full" ? "" : ` ${mode} mode: ${n} entries instead of 1,000,000 (\`--full\`).`}`,
      "Hit latency: random keys over all entries, each `getMany([key])` one round trip (`l3_read`: the shared lock, the row, decryption and brotli decompression here). The design's target is p95 under 50 ms.",
      "`stats()` scans the table (exact counts per key id); callers should poll it rarely. A pattern invalidation holds the exclusive lock while it deletes, so L3 reads wait for it.",
    ],
    data: f,
  };
}
