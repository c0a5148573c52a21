/**
 * The side-by-side benchmark (issue 8): Cachet against the libraries users would pick instead,
 * measured in the same run on the same machine so that ratios hold on a noisy machine.
 *
 *   npm run bench                quick run (under 3 minutes)
 *   npm run bench -- --full      the full run (1,000,000-key invalidation, 256 MiB L1, longer runs)
 *   npm run bench -- --only=tiered,http     some sections only (ids: tiered, l1, http,
 *                                invalidation, warming, coherence, memory, serving, l3, l3-recovery)
 *   BENCH_NODE=/path/to/node     section 8 runs its servers on that Node (compare versions)
 *   --tiny                       a few seconds per section (the smoke test)
 *   --out-dir=DIR                where the results file goes (default bench/results)
 *   --readme=FILE | --no-readme  the README whose bench region is regenerated (default README.md)
 *
 * Starts its own redis-server on a free port, installs the peer libraries on demand
 * (`npm ci --prefix bench/peers`), prints a table per section, writes `<out-dir>/<date>.json`
 * (`<date>-quick.json` for a quick run) with the machine's description, and regenerates the
 * README's performance table between `<!-- bench:start -->` and `<!-- bench:end -->`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { startRedisServer } from "../infra/node-host/embedded/redis.ts";
import { ensurePeers } from "./lib/peers.ts";
import {
  renderReport,
  renderSection,
  renderTable,
  renderTargets,
  type BenchResults,
  type Machine,
  type Mode,
  type SectionResult,
  type TargetCheck,
} from "./lib/report.ts";
import { rate, ms } from "./lib/stats.ts";
import { runCoherence } from "./sections/coherence.ts";
import { runHttp } from "./sections/http.ts";
import { runInvalidation } from "./sections/invalidation.ts";
import { runL3 } from "./sections/l3.ts";
import { runL1Section } from "./sections/l1.ts";
import { runL3Recovery } from "./sections/l3-recovery.ts";
import { runMemory } from "./sections/memory.ts";
import { runServing } from "./sections/serving.ts";
import { runTiered } from "./sections/tiered.ts";
import { runWarming } from "./sections/warming.ts";

const benchDir = dirname(fileURLToPath(import.meta.url));
const appRoot = resolve(benchDir, "..");
export const README_START = "<!-- bench:start -->";
export const README_END = "<!-- bench:end -->";

type SectionRunner = (mode: Mode, redisUrl: string, log: (line: string) => void) => Promise<Omit<SectionResult, "seconds">> | Omit<SectionResult, "seconds">;

const SECTIONS: [string, string, SectionRunner][] = [
  ["tiered", "1. in-process tiered cache vs bentocache and cache-manager", runTiered],
  ["l1", "2. L1 vs lru-cache", (mode) => runL1Section(mode)],
  ["http", "3. HTTP through the Node host vs bare node:http", runHttp],
  ["invalidation", "4. invalidation by pattern", (mode, url) => runInvalidation(mode, url)],
  ["warming", "5. warming", (mode, url) => runWarming(mode, url)],
  ["coherence", "6. coherence across 3 instances", (mode, url) => runCoherence(mode, url)],
  ["memory", "7. memory", (mode) => runMemory(mode)],
  ["serving", "8. serving as npm start does (wrk)", runServing],
  ["l3", "9. L3 store in PostgreSQL", (mode, _url, log) => runL3(mode, log)],
  ["l3-recovery", "10. the L3 tier: write cost and recovery after Redis loses its data", runL3Recovery],
];

function argValue(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function describeMachine(): Machine {
  let redis = "unknown";
  try {
    redis = /v=(\S+)/.exec(execFileSync("redis-server", ["--version"], { encoding: "utf8" }))?.[1] ?? redis;
  } catch {
    // reported as unknown
  }
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryBytes: totalmem(),
    os: `${type()} ${release()}`,
    node: process.version,
    redis,
    loadAverage: loadavg(),
  };
}

function section(results: BenchResults, id: string): SectionResult | undefined {
  const found = results.sections.find((s) => s.id === id);
  return found && !found.error ? found : undefined;
}

/** What each target measured, whether it is met, and what limits it when it is not. */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const http = section(results, "http")?.data as { ratios: Record<string, number> } | undefined;
  if (http) {
    const ratio = http.ratios.getL1;
    checks.push({
      name: "L1-hit HTTP vs bare node:http",
      target: "≥ 0.85",
      measured: ratio.toFixed(2),
      met: ratio >= 0.85,
      note: ratio >= 0.85 ? undefined : LIMITS.http,
    });
  }
  const serving = section(results, "serving")?.data as
    | {
        ratios: { oneProcess: number; allCores: number; l2Hit?: number; put?: number; batch?: number };
        figures?: Record<string, { cpuUsPerRequest: number; cores: number }>;
        idleRss: number;
        startMs: { warm: number };
        workers: number;
      }
    | undefined;
  if (serving) {
    const { oneProcess, allCores } = serving.ratios;
    /** The CPU figures beside a missed ratio: they hold when a loaded machine leaves the servers few cycles. */
    const cpu = (host: string, bare: string) => {
      const h = serving.figures?.[host]?.cpuUsPerRequest;
      const b = serving.figures?.[bare]?.cpuUsPerRequest;
      return h && b ? `CPU per request ${h.toFixed(1)} µs (host) against ${b.toFixed(1)} µs (bare), ${(b / h).toFixed(2)} by CPU; ` : "";
    };
    checks.push({
      name: "L1-hit GET over 5,000 keys, host ÷ bare (wrk, 1 process)",
      target: "≥ 0.85",
      measured: oneProcess.toFixed(2),
      met: oneProcess >= 0.85,
      note: oneProcess >= 0.85 ? undefined : cpu("host", "bare") + LIMITS.http,
    });
    for (const [ratio, name, goal, host, bare, limit] of [
      [serving.ratios.l2Hit, "L2-hit GET, host ÷ bare (wrk)", 0.6, "l2", "bareL2", LIMITS.l2HitHttp],
      [serving.ratios.put, "PUT (L2 write + announce), host ÷ bare (wrk)", 0.35, "put", "barePut", LIMITS.put],
      [serving.ratios.batch, "batch get of 100 keys, host ÷ bare (wrk)", 0.4, "batch", "bareBatch", LIMITS.batch],
    ] as const) {
      if (ratio === undefined) continue;
      const met = ratio >= goal;
      checks.push({ name, target: `≥ ${goal.toFixed(2)}`, measured: ratio.toFixed(2), met, note: met ? undefined : cpu(host, bare) + limit });
    }
    checks.push({
      name: `all cores (${serving.workers} workers) ÷ one bare process`,
      target: "≥ 1.7 on 2 cores",
      measured: allCores.toFixed(2),
      met: allCores >= 1.7,
      note: allCores >= 1.7 ? undefined : `the bare server itself used ${serving.figures?.bare?.cores.toFixed(2) ?? "?"} cores; ${LIMITS.allCores}`,
    });
    const mb = serving.idleRss / 1024 / 1024;
    checks.push({ name: "idle RSS of the host process (whole platform)", target: "≤ 300 MB", measured: `${mb.toFixed(0)} MB`, met: mb <= 300 });
    const seconds = serving.startMs.warm / 1000;
    checks.push({
      name: "start-up, warm",
      target: "≤ 3 s",
      measured: `${seconds.toFixed(2)} s`,
      met: seconds <= 3,
      note: seconds <= 3 ? undefined : LIMITS.startup,
    });
  }
  const tiered = section(results, "tiered")?.data as
    | {
        ratios: Record<string, Record<string, number | undefined>>;
        ratioRange?: Record<string, Record<string, [number, number] | undefined>>;
        subjects: Record<string, Record<string, { cpuMicrosPerOp: number }>>;
      }
    | undefined;
  if (tiered) {
    for (const [op, label, goal] of [
      ["l1Hit", "L1 hit", 1.5],
      ["l2Hit", "L2 hit", 1.5],
      ["miss", "miss + load", 1.0],
    ] as const) {
      const ratio = tiered.ratios.bentocache[op];
      if (ratio === undefined) continue; // not measured in this run (BENCH_TIERED_OPS)
      const range = tiered.ratioRange?.bentocache[op];
      checks.push({
        name: `in-process ${label} vs bentocache`,
        target: `≥ ${goal.toFixed(1)}×`,
        measured: `${ratio.toFixed(2)}×${range ? ` (${range[0].toFixed(2)}–${range[1].toFixed(2)})` : ""}`,
        met: ratio >= goal,
        note:
          ratio >= goal
            ? undefined
            : `client CPU per op ${tiered.subjects.cachet[op].cpuMicrosPerOp.toFixed(1)} µs (Cachet) against ${tiered.subjects.bentocache[op].cpuMicrosPerOp.toFixed(1)} µs (bentocache); ${LIMITS[op]}`,
      });
    }
  }
  const l1 = section(results, "l1")?.data as { scanAdvantagePoints: number } | undefined;
  if (l1) {
    const points = l1.scanAdvantagePoints;
    checks.push({
      name: "W-TinyLFU − lru-cache, zipf 0.9 + scans",
      target: "≥ 5 points",
      measured: `${points.toFixed(1)} points`,
      met: points >= 5,
      note: points >= 5 ? undefined : LIMITS.scans,
    });
  }
  const invalidation = section(results, "invalidation")?.data as { keysPerSec: number } | undefined;
  if (invalidation) {
    const value = invalidation.keysPerSec;
    checks.push({
      name: "pattern invalidation",
      target: "≥ 200k keys/s",
      measured: `${rate(value)} keys/s`,
      met: value >= 200_000,
      note: value >= 200_000 ? undefined : LIMITS.invalidation,
    });
  }
  const warming = section(results, "warming")?.data as { keysPerSec: number } | undefined;
  if (warming) {
    const value = warming.keysPerSec;
    checks.push({
      name: "warming (store path)",
      target: "≥ 50k keys/s",
      measured: `${rate(value)} keys/s`,
      met: value >= 50_000,
      note: value >= 50_000 ? undefined : LIMITS.warming,
    });
  }
  const coherence = section(results, "coherence")?.data as { p99: number; staleReads: number } | undefined;
  if (coherence) {
    checks.push({
      name: "coherence p99 at 1,000 writes/s",
      target: "≤ 5 ms",
      measured: ms(coherence.p99),
      met: coherence.p99 <= 5,
      note: coherence.p99 <= 5 ? undefined : LIMITS.coherence,
    });
    checks.push({ name: "stale reads after the bound", target: "0", measured: String(coherence.staleReads), met: coherence.staleReads === 0 });
  }
  const l3 = section(results, "l3")?.data as { entries: number; hit: { p95: number } } | undefined;
  if (l3) {
    checks.push({
      name: `L3 hit p95, ${l3.entries.toLocaleString("en")} entries in PostgreSQL`,
      target: "< 50 ms",
      measured: ms(l3.hit.p95),
      met: l3.hit.p95 < 50,
    });
  }
  return checks;
}

/** What limits a figure when its target is missed (from profiling; see the issue note). */
const LIMITS: Record<string, string> = {
  http: "the host's own work per request on top of Node's HTTP parsing and response write, which both servers pay and which are over half of the host's samples: in a perf profile of the host under wrk (Node 20, L1 hits over 5,000 keys, after the answer's JSON came to be kept per L1 value and the request lost a promise), the endpoint is 14% of the samples (two Space-Saving hot-key offers 4.9%: with 5,000 keys rotating over 400 counters every offer replaces a counter; the L1 lookup 2.6%; the hit and request events 2.4%; the answer's text 2.8%), the auth handler 6% (the token's digest 2.2%, the rate limit 0.5%), Node 20's AsyncLocalStorage promise hooks 3%, routing and decoding 2.5%; 0.85 would leave about 3 µs a request for all of it",
  allCores:
    "the workers share the two cores with wrk (which needs about one core to drive them), Redis and the rest of the machine; per request each worker costs what one host process costs, so the all-cores figure is bounded by the one-process ratio times the cores left to the servers",
  startup:
    "loading the services through the tsx TypeScript loader and the manifest (TypeScript compiler API on a changed source tree) on a loaded machine; the databases are a separate server, started in about 0.3 s",
  l2HitHttp:
    "each L2 hit is a Redis GET (batched per loop turn) whose reply ioredis parses, an envelope JSON.parse, an L1 fill that evicts (the L1 holds one entry) and the garbage of all that (GC about 7% of the host's profile), on top of everything an L1 hit costs; the bare server answers from a Map",
  put: "what is left is spread out. Per PUT, in a perf profile of the host under wrk (Node 20, a 200-byte value over 5,000 keys, about 70 µs of CPU a request): writing the answer to the socket 17% and node:http's request parsing 12% (the bare server pays both), the endpoint and the tiered write 13% (checks, the value's one JSON encoding, reused for the stored envelope since it is made, the L1 drop and refill), socket reads and streams 10%, Redis socket writes 8% (the L2 write and the announcement already go as one script call each per loop turn, about 0.065 per PUT each: on loopback each write carries the kernel's whole TCP path into Redis), GC 7%, the L2 batch around them 4%, reading the body 4%, the announcement and its read-back by the own stream follower 3.5%, auth 3%, decoding and routing 3%; 0.35 needs about 42 µs a request, more than any one part",
  batch:
    "what is left is spread out. Per 100-key batch, in a perf profile of the host under wrk (Node 20, 100 L1-hit keys, about 105 µs of CPU a request): writing the 30 kB answer to the socket 23% and node:http's request parsing 17% (the bare server pays both), the 100 L1 reads with their hot-key and hit counting 15%, copying the answer together from each value's kept bytes 12% (one kept piece and the TTL's digits per hit, in 1 MiB slabs), reading the 1.3 kB body 7% (a compact list of short keys is cut from the text, not given to JSON.parse, which interned each key), routing and decoding 6%, the auth handler 3%, GC 3%; 0.40 needs about 75 µs a request",
  miss: "the shape of a miss, more than its cost: client CPU per miss is now below bentocache's (41–50 against 54–62 µs in three full runs of 2026-12-03, whose ratios were 1.04–1.22×) and Redis's about equal (about 16 µs of process CPU per miss each: one fenced-read and one fill script per batch of 16 plus the stream append, about 12 µs of commands, against bentocache's GET, SET and PUBLISH at 3 µs of commands and their I/O). The 16 concurrent misses travel together through three batched round trips (fenced read, fenced fill, stream append), so each cycle waits three times for Redis to be scheduled, where bentocache's independent commands spread over the cycle; on a loaded machine those waits set the pace, and the per-cycle ratios spread widely (0.4–6× in one run, 0.6–1.9× and 0.8–2.1× in the others). Not awaiting the append (which would weaken the announcement guarantee) measured no gain beyond the noise. The client CPU left (CPU profile of the miss loop): GC about a fifth (young-generation scavenges about 5 µs a miss: each miss adds an L1 entry, a decoded envelope's object graph, that survives to be copied), the two coherence followers (the writer reads its own appends back, the reader applies them: entry parsing, key versions, L1 drop) about a tenth, promise scheduling (37 promises per miss) 6%, hot-key counting 4%, the L1 fill 3%, envelope encoding 2%",
  l1Hit: "each read also counts the key for hot-key tracking, checks the degradation plan and builds a fresh result object",
  l2Hit:
    "ops/s, not CPU: Cachet uses about half the client CPU per hit (concurrent gets share one MGET per node), but its 16 callers' gets travel as one batch and wait for it together, so the loop idles for a round trip each cycle (about 78% busy), while the peers' 16 independent GETs keep their CPU saturated; capping each MGET at 4 keys lifted ops/s by about 15% (1.20–1.27× → 1.34–1.38× in quick runs on a quiet machine) for 1–2 µs more CPU per hit, not kept because a CPU-bound server pays that per read; the remaining CPU is envelope JSON decoding, reply parsing and the W-TinyLFU L1 fill",
  scans: "trace-dependent; see the hit-ratio table",
  invalidation:
    "Redis's own single-threaded work per key (hash-table lookups and frees for SCAN and UNLINK, about 3–4 µs per key, a quarter of it from the table resize the 1.1M-key fill leaves unfinished); SCAN + UNLINK run inside Redis a page per script call, so the client is mostly idle",
  warming:
    "per key on the client: the W-TinyLFU L1 insertion once L1 is full, key-version bookkeeping, JSON encoding and GC; in Redis about 6 µs per key (one SET-each script per 1,000 keys), on the same two cores",
  coherence:
    "the acknowledged write is nearly all of the tail (write p99 ≈ propagation p99): a batched L2 write, then the group-committed stream append it waits for; the three instances share one event loop, and on two shared cores the tail follows the load average",
};

/** Replaces the README region between the bench markers; throws when the markers are missing. */
export function updateReadme(file: string, results: BenchResults, resultsFile: string): void {
  const text = readFileSync(file, "utf8");
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start === -1 || end === -1 || end < start) throw new Error(`${file} has no ${README_START} … ${README_END} region`);
  const source = relative(dirname(file), resultsFile).split("\\").join("/");
  const body = `_Regenerated by \`npm run bench${results.mode === "full" ? " -- --full" : ""}\` from [\`${source}\`](${source})._\n\n${renderReport(results, "###")}`;
  writeFileSync(file, `${text.slice(0, start + README_START.length)}\n${body}\n${text.slice(end)}`);
}

async function main(): Promise<void> {
  const mode: Mode = process.argv.includes("--full") ? "full" : process.argv.includes("--tiny") ? "tiny" : "quick";
  const only = argValue("only")
    ?.split(",")
    .map((s) => s.trim());
  const outDir = resolve(argValue("out-dir") ?? join(benchDir, "results"));
  // A run of some sections only is a partial picture: it neither replaces the README's table nor
  // the day's results file (it goes to <date>-<mode>-partial.json).
  const readme = process.argv.includes("--no-readme") || only ? undefined : resolve(argValue("readme") ?? join(appRoot, "README.md"));
  const log = (line: string) => console.log(line);
  const started = performance.now();
  const machine = describeMachine();
  log(`Cachet benchmark — ${mode} run on ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, Redis ${machine.redis}`);

  ensurePeers(log);
  const redisServer = await startRedisServer();
  const admin = new Redis(redisServer.url);
  const results: BenchResults = { schema: 1, date: new Date().toISOString(), mode, machine, seconds: 0, sections: [], targets: [] };
  try {
    for (const [id, title, run] of SECTIONS) {
      if (only && !only.includes(id)) continue;
      log(`\n== ${title}`);
      const sectionStarted = performance.now();
      let result: SectionResult;
      try {
        result = { ...(await run(mode, redisServer.url, log)), seconds: (performance.now() - sectionStarted) / 1000 };
        result.notes.push(`Load average (1 min) when the section ended: ${loadavg()[0].toFixed(2)} on ${machine.cores} cores.`);
      } catch (error) {
        result = {
          id,
          title,
          tables: [],
          notes: [],
          data: null,
          error: (error as Error).message.split("\n")[0],
          seconds: (performance.now() - sectionStarted) / 1000,
        };
        console.error(error);
      }
      results.sections.push(result);
      log(renderSection(result, "##"));
      log(`(${result.seconds.toFixed(1)} s)`);
      await admin.flushall();
    }
  } finally {
    admin.disconnect();
    await redisServer.stop();
  }
  results.seconds = (performance.now() - started) / 1000;
  results.targets = checkTargets(results);
  log(`\n== Targets\n\n${renderTable(renderTargets(results.targets))}`);

  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${results.date.slice(0, 10)}${mode === "full" ? "" : `-${mode}`}${only ? "-partial" : ""}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nresults: ${relative(process.cwd(), file)}`);
  if (readme) {
    updateReadme(readme, results, file);
    log(`README performance table regenerated: ${relative(process.cwd(), readme)}`);
  }
  log(`total ${results.seconds.toFixed(0)} s`);
  if (results.sections.some((s) => s.error)) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
