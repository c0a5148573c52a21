/**
 * Section 10: what the L3 tier costs on the write path and what it gives back after Redis loses
 * its data, measured on real processes: two hosts on the benchmark's Redis and one PostgreSQL
 * server, one with CACHE_L3 on and one with it off.
 *
 * - PUT throughput, L3 on ÷ off, in the same run (autocannon from a separate process, the hosts
 *   loaded one at a time, alternating which goes first): the copy to L3 is off the request path.
 * - Recovery: readers read the demo `product:` keys (an origin with added latency) through the
 *   L3 host; Redis is flushed (`FLUSHALL`) under that load; the section counts the reads by
 *   source after the flush, the origin loads it caused, and how long L2 took to hold every key
 *   again.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { generateKeyPair } from "../../lib/l3-keyring.ts";
import { startPostgresServer } from "../../infra/node-host/testing/postgres.ts";
import { runChild } from "../lib/child.ts";
import { startBenchHost, type BenchHost } from "../lib/host.ts";
import { cpuSeconds } from "./serving.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { median, rate } from "../lib/stats.ts";
import type { LoadFigures, LoadJob } from "./http-loadgen.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const ADMIN_TOKEN = "bench-admin-token-0123456789";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
const SETTINGS: Record<Mode, { durationSeconds: number; rounds: number; keys: number; readers: number; watchMs: number }> = {
  tiny: { durationSeconds: 0.5, rounds: 1, keys: 200, readers: 8, watchMs: 1_500 },
  quick: { durationSeconds: 2, rounds: 3, keys: 2_000, readers: 32, watchMs: 4_000 },
  full: { durationSeconds: 5, rounds: 5, keys: 10_000, readers: 64, watchMs: 8_000 },
};

async function call(host: BenchHost, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${host.url}${path}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/**
 * Waits until the L3 copiers have read and acknowledged every announcement (their groups' lag and
 * pending counts are 0), at most 30 s; resolves to the milliseconds waited.
 */
async function copierCaughtUp(admin: Redis): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < 30_000) {
    const rows = (await admin.xinfo("GROUPS", "cachet:coherence").catch(() => [])) as unknown[][];
    const field = (row: unknown[], name: string) => Number(row[row.indexOf(name) + 1] ?? 0);
    if (rows.every((row) => field(row, "lag") === 0 && field(row, "pending") === 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return performance.now() - start;
}

/** The L3 host's copier figures from `/api/stats`. */
const l3Figures = async (host: BenchHost) => ((await call(host, "GET", "/api/stats")).body as { l3: { copied: number; copierLagMs: number | null } }).l3;

/** Polls the copier's lag every 250 ms until stopped; resolves to the largest seen. */
function watchLag(host: BenchHost): { stop: () => Promise<number> } {
  let largest = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      largest = Math.max(largest, (await l3Figures(host).catch(() => null))?.copierLagMs ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return { stop: async () => ((running = false), await loop, largest) };
}

const originLoads = async (host: BenchHost) => ((await call(host, "GET", "/api/stats")).body as { counters: { loads: { ok: number } } }).counters.loads.ok;

export async function runL3Recovery(mode: Mode, redisUrl: string, log: (line: string) => void): Promise<Omit<SectionResult, "seconds">> {
  const settings = SETTINGS[mode];
  const postgres = await startPostgresServer();
  const dir = mkdtempSync(join(tmpdir(), "cachet-bench-l3-"));
  const admin = new Redis(redisUrl);
  const hosts: BenchHost[] = [];
  try {
    // An L1 of one entry, as section 3's L2 host: reads reach L2 (and, once Redis lost it, L3)
    // instead of being answered by the L1 the flush does not touch.
    const common = { redisUrl, adminToken: ADMIN_TOKEN, env: { DATABASE_URL: postgres.url, CACHE_DEMO_LATENCY_MS: "20", CACHE_L1_MAX_ENTRIES: "1" } };
    const on = await startBenchHost({
      ...common,
      env: { ...common.env, CACHE_L3: "on", CACHE_L3_KEY: generateKeyPair("bench"), CACHET_DATABASE_PREFIX: "on_" },
    });
    hosts.push(on);
    const off = await startBenchHost({ ...common, env: { ...common.env, CACHE_L3: "off", CACHET_DATABASE_PREFIX: "off_" } });
    hosts.push(off);

    // PUT throughput, L3 on vs off. Both hosts announce on the same coherence stream, so the L3
    // host's copier would copy the other host's writes too: their namespace is kept out of L3.
    const kept = await call(on, "PUT", "/api/cache-policy/namespaces/bench-l3-off:", { l3: false });
    if (kept.status !== 200) throw new Error(`keeping bench-l3-off: out of L3 failed: ${kept.status} ${JSON.stringify(kept.body)}`);
    /**
     * Two key sets: 1,000 keys rewritten over and over (repeated writes of a key coalesce into
     * one copy), and keys never written twice in a run (every write is its own copy: the worst
     * case for L3's write cost).
     */
    const workloads = [
      { label: "1,000 keys", id: "rewritten", keyCount: 1_000 },
      { label: "a new key per write", id: "new", keyCount: 200_000 },
    ];
    const putJob = (host: BenchHost, name: string, keyCount: number, run: string): LoadJob => ({
      name,
      url: host.url,
      method: "PUT",
      paths: Array.from({ length: keyCount }, (_, i) => `/api/cache/bench-l3-${name}:${run}:${i}`),
      headers: auth,
      body: JSON.stringify({ value: { id: 1, name: "a product", price: 9.99, tags: ["x", "y"] } }),
      connections: 16,
      durationSeconds: settings.durationSeconds,
    });
    // Warm-up (JIT, connection pools, the copier's first batches), not counted.
    const warm = join(dir, "warm.json");
    writeFileSync(warm, JSON.stringify([putJob(on, "on", 1_000, "warm"), putJob(off, "off", 1_000, "warm")].map((job) => ({ ...job, durationSeconds: 1 }))));
    await runChild(here("./http-loadgen.ts"), [warm]);
    await copierCaughtUp(admin);
    const putFigures = [];
    for (const workload of workloads) {
      const runs: Record<"on" | "off", number[]> = { on: [], off: [] };
      /** CPU seconds of each host, and of PostgreSQL, during its own PUT runs; requests served. */
      const cpu = { on: { host: 0, postgres: 0, requests: 0 }, off: { host: 0, postgres: 0, requests: 0 } };
      let [largestLag, copied] = [0, 0];
      for (let round = 0; round < settings.rounds; round++) {
        const order = round % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const);
        for (const name of order) {
          const host = name === "on" ? on : off;
          const file = join(dir, `round-${round}-${name}.json`);
          writeFileSync(file, JSON.stringify([putJob(host, name, workload.keyCount, `${workload.id}-${round}`)]));
          const [hostBefore, postgresBefore] = [cpuSeconds(host.pid), cpuSeconds(postgres.process.pid!)];
          const copiedBefore = (await l3Figures(on)).copied;
          const lag = name === "on" ? watchLag(on) : null;
          const { results } = await runChild<{ results: LoadFigures[] }>(here("./http-loadgen.ts"), [file]);
          // The copier may still be catching up (it lags up to a second under load): let it
          // finish, so its CPU counts to this run and does not slow the next one.
          await copierCaughtUp(admin);
          largestLag = Math.max(largestLag, (await lag?.stop()) ?? 0);
          if (name === "on") copied += (await l3Figures(on)).copied - copiedBefore;
          cpu[name].host += cpuSeconds(host.pid) - hostBefore;
          cpu[name].postgres += cpuSeconds(postgres.process.pid!) - postgresBefore;
          cpu[name].requests += results[0].requests;
          runs[name].push(results[0].reqPerSec);
        }
      }
      const perPut = (name: "on" | "off", part: "host" | "postgres") => (cpu[name][part] / cpu[name].requests) * 1e6;
      const [putOn, putOff] = [median(runs.on), median(runs.off)];
      log(`PUT (${workload.label}) with L3 on ${rate(putOn)}, off ${rate(putOff)}`);
      const copiesPerPut = copied / cpu.on.requests;
      putFigures.push({ label: workload.label, putOn, putOff, ratio: putOn / putOff, runs, cpu, perPut, largestLag, copiesPerPut });
    }

    // Recovery after FLUSHALL under read load.
    const keys = Array.from({ length: settings.keys }, (_, i) => `product:${i + 1}`);
    for (let i = 0; i < keys.length; i += 100) await call(on, "POST", "/api/batch/get", { keys: keys.slice(i, i + 100) });
    await copierCaughtUp(admin);
    const loadsBefore = await originLoads(on);
    const bySource: Record<string, number> = {};
    let failed = 0;
    let stop = false;
    let flushedAt = 0;
    const reader = async (r: number) => {
      for (let i = r; !stop; i += settings.readers) {
        const key = keys[i % keys.length];
        const response = await call(on, "GET", `/api/cache/${key}`).catch(() => null);
        if (flushedAt === 0) continue;
        if (response?.status !== 200) failed++;
        else bySource[response.body.source] = (bySource[response.body.source] ?? 0) + 1;
      }
    };
    const readers = Array.from({ length: settings.readers }, (_, r) => reader(r));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await admin.flushall();
    flushedAt = performance.now();
    let refilledMs: number | null = null;
    while (performance.now() - flushedAt < settings.watchMs) {
      if (refilledMs === null && (await admin.exists(...keys.map((key) => `cachet:v:${key}`))) === keys.length) refilledMs = performance.now() - flushedAt;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stop = true;
    await Promise.all(readers);
    const loads = (await originLoads(on)) - loadsBefore;
    const reads = Object.values(bySource).reduce((a, b) => a + b, 0) + failed;
    const share = (source: string) => (reads ? (bySource[source] ?? 0) / reads : 0);
    log(`after FLUSHALL: ${reads} reads, ${JSON.stringify(bySource)}, ${failed} failed, ${loads} origin loads`);
    return {
      id: "l3-recovery",
      title: "",
      tables: [
        {
          title: "The L3 tier: write cost and recovery after Redis loses its data",
          header: ["figure", "result"],
          rows: [
            ...putFigures.flatMap((f) => [
              [
                `PUT /api/cache/:key (${f.label}): L3 on / off`,
                `${rate(f.putOn)} / ${rate(f.putOff)} (runs ${f.runs.on.map(rate).join(", ")} / ${f.runs.off.map(rate).join(", ")})`,
              ],
              [`… PUT on ÷ off`, f.ratio.toFixed(2)],
              [`… CPU µs per PUT, host process: L3 on / off`, `${f.perPut("on", "host").toFixed(1)} / ${f.perPut("off", "host").toFixed(1)}`],
              [`… CPU µs per PUT, PostgreSQL: L3 on / off`, `${f.perPut("on", "postgres").toFixed(1)} / ${f.perPut("off", "postgres").toFixed(1)}`],
              [`… keys copied into L3 per PUT; largest copier lag seen`, `${f.copiesPerPut.toFixed(2)}; ${f.largestLag} ms`],
            ]),
            [`reads in the ${settings.watchMs / 1000} s after FLUSHALL (${settings.readers} readers, ${keys.length} keys)`, String(reads)],
            ["… served from L3 / L2 / L1", `${(share("l3") * 100).toFixed(1)}% / ${(share("l2") * 100).toFixed(1)}% / ${(share("l1") * 100).toFixed(1)}%`],
            ["… from the origin, failed", `${(share("origin") * 100).toFixed(1)}%, ${failed}`],
            ["origin loads caused", String(loads)],
            ["time until L2 held every key again", refilledMs === null ? `not within ${settings.watchMs} ms` : `${refilledMs.toFixed(0)} ms`],
          ],
        },
      ],
      notes: [
        "Both hosts serve cache-manager alone on the benchmark's Redis and one PostgreSQL server (a schema each). The copy to L3 follows the coherence stream in a consumer group, off the request path: what L3 costs a PUT is the copier's CPU in the host and PostgreSQL's, which share the machine's cores with the load generator, Redis and the host's request handling (CPU per PUT counts each process over its host's own runs, and until the copier caught up after each).",
        "Under load the copier waits up to 1 s (instead of 100 ms) to gather a batch, so repeated writes of a key coalesce into one copy and the requests keep the cores; 'a new key per write' is the case where nothing coalesces.",
        "The readers start before the flush and only reads that completed after it are counted. The refill time is when every key's L2 value existed again (checked every 50 ms).",
      ],
      data: { put: putFigures.map(({ perPut: _perPut, ...f }) => f), bySource, failed, originLoads: loads, refilledMs },
    };
  } finally {
    for (const host of hosts) await host.stop().catch(() => undefined);
    admin.disconnect();
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
