/**
 * L1 cache benchmark: our three policies against lru-cache.
 *
 *   npx tsx bench/l1.ts            full run (about a minute)
 *   npx tsx bench/l1.ts --quick    smaller sizes, for a smoke test
 *
 * Also section 2 of `npm run bench` (`runL1Bench`). Three tables:
 * 1. Throughput (ops/s, median of several runs after warm-up) for the same capacity and keys:
 *    `get` hits, `set` over twice the capacity (updates and evicting inserts), and a zipf
 *    read-through (get, set on a miss). Each subject runs in its own child process so the JIT
 *    state one leaves behind (polymorphic call sites, heap) cannot slow another.
 * 2. Hit ratio per policy on seeded traces (zipf 0.7/0.9/1.1 over 10× the capacity, zipf with
 *    one-off scans, and a loop slightly larger than the cache).
 * 3. Approximate memory per entry: heap + array buffers after filling, minus before, over entries
 *    (keys are built beforehand, so key strings are not counted).
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { LRUCache } from "lru-cache";
import { L1Cache, type PolicyName } from "../cache-manager/core/l1";
import { keyNames, loopTrace, uniformTrace, zipfTrace, zipfWithScansTrace } from "./lib/traces";

export type L1Size = "tiny" | "quick" | "full";

interface L1Settings {
  throughputCapacities: number[];
  opsPerRun: number;
  warmupRuns: number;
  timedRuns: number;
  rounds: number;
  hitRatioCapacity: number;
  traceLength: number;
}

const SIZES: Record<L1Size, L1Settings> = {
  tiny: { throughputCapacities: [2_000], opsPerRun: 50_000, warmupRuns: 1, timedRuns: 2, rounds: 1, hitRatioCapacity: 1_000, traceLength: 50_000 },
  quick: { throughputCapacities: [10_000], opsPerRun: 200_000, warmupRuns: 2, timedRuns: 3, rounds: 1, hitRatioCapacity: 2_000, traceLength: 200_000 },
  full: {
    throughputCapacities: [10_000, 100_000],
    opsPerRun: 500_000,
    warmupRuns: 2,
    timedRuns: 5,
    rounds: 3,
    hitRatioCapacity: 10_000,
    traceLength: 1_000_000,
  },
};

const sizeArg = (argv: string[]): L1Size => (argv.includes("--tiny") ? "tiny" : argv.includes("--quick") ? "quick" : "full");
let S: L1Settings = SIZES[sizeArg(process.argv)];
const ENTRY_BYTES = 64;

const SUBJECTS = ["L1 lru", "L1 lfu", "L1 w-tinylfu", "lru-cache", "lru-cache (maxSize)"] as const;
type SubjectName = (typeof SUBJECTS)[number];

interface Subject {
  get(key: string): unknown;
  set(key: string, value: number): void;
}

interface Throughput {
  getOps: number;
  setOps: number;
  readThroughOps: number;
  bytesPerEntry: number;
}

/** A cache behind a uniform face; every subject holds `capacity` entries of `ENTRY_BYTES`. */
function createSubject(name: SubjectName, capacity: number): Subject {
  if (name.startsWith("L1 ")) {
    const cache = new L1Cache<number>({ maxEntries: capacity, maxBytes: capacity * ENTRY_BYTES, policy: name.slice(3) as PolicyName });
    const options = { sizeBytes: ENTRY_BYTES };
    return { get: (key) => cache.get(key), set: (key, value) => void cache.set(key, value, options) };
  }
  if (name === "lru-cache") {
    const cache = new LRUCache<string, number>({ max: capacity });
    return { get: (key) => cache.get(key), set: (key, value) => void cache.set(key, value) };
  }
  const cache = new LRUCache<string, number>({ max: capacity, maxSize: capacity * ENTRY_BYTES });
  const options = { size: ENTRY_BYTES };
  return { get: (key) => cache.get(key), set: (key, value) => void cache.set(key, value, options) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** CPU seconds used by this process (all threads): unlike wall time, it does not count the
 *  time other processes on a shared machine hold the cores. */
function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Median ops per CPU second of `run` (which returns how many operations it did) after warm-up runs. */
function opsPerSecond(run: () => number): number {
  for (let i = 0; i < S.warmupRuns; i++) run();
  const rates: number[] = [];
  for (let i = 0; i < S.timedRuns; i++) {
    const started = cpuSeconds();
    const ops = run();
    rates.push(ops / (cpuSeconds() - started));
  }
  return median(rates);
}

let sink = 0; // keeps results observable so the JIT cannot drop the loops

function heapBytes(collect: () => void): number {
  collect();
  collect();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Child-process side: memory first (clean heap), then throughput. */
function measureSubject(name: SubjectName, capacity: number): Throughput {
  setFlagsFromString("--expose-gc");
  const collect = runInNewContext("gc") as () => void;
  const names = Array.from({ length: 2 * capacity }, (_, id) => `key:${id}`);

  const before = heapBytes(collect);
  const held = [createSubject(name, capacity)]; // read after the measurement, so it stays reachable
  for (let id = 0; id < capacity; id++) held[0].set(names[id], id);
  const bytesPerEntry = (heapBytes(collect) - before) / capacity;
  if (held.pop()!.get(names[0]) === undefined) sink--;

  const filled = () => {
    const fresh = createSubject(name, capacity);
    for (let id = 0; id < capacity; id++) fresh.set(names[id], id);
    return fresh;
  };
  const getTrace = uniformTrace({ keys: capacity, length: S.opsPerRun, seed: 1 });
  const setTrace = uniformTrace({ keys: 2 * capacity, length: S.opsPerRun, seed: 2 });
  const zipf = zipfTrace({ keys: 2 * capacity, alpha: 0.9, length: S.opsPerRun, seed: 3 });

  const getSubject = filled();
  const getOps = opsPerSecond(() => {
    for (let i = 0; i < getTrace.length; i++) if (getSubject.get(names[getTrace[i]]) !== undefined) sink++;
    return getTrace.length;
  });
  const setSubject = filled();
  const setOps = opsPerSecond(() => {
    for (let i = 0; i < setTrace.length; i++) setSubject.set(names[setTrace[i]], i);
    return setTrace.length;
  });
  const readThroughSubject = filled();
  const readThroughOps = opsPerSecond(() => {
    for (let i = 0; i < zipf.length; i++) {
      const key = names[zipf[i]];
      if (readThroughSubject.get(key) === undefined) readThroughSubject.set(key, i);
      else sink++;
    }
    return zipf.length;
  });
  return { getOps, setOps, readThroughOps, bytesPerEntry };
}

/** Runs `measureSubject` in a fresh Node process with the same loader (tsx) as this one. */
function measureInChild(name: SubjectName, capacity: number, size: L1Size): Throughput {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), "--measure", name, String(capacity), `--${size}`];
  const output = execFileSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(output.trim().split("\n").at(-1)!) as Throughput;
}

/** Fraction of accesses that hit, reading through: a miss is followed by a set. */
function hitRatio(name: SubjectName, capacity: number, trace: Int32Array, names: string[]): number {
  const subject = name.startsWith("L1 ")
    ? (() => {
        const cache = new L1Cache<number>({ maxEntries: capacity, maxBytes: capacity, policy: name.slice(3) as PolicyName });
        const options = { sizeBytes: 1 };
        return { get: (key: string) => cache.get(key), set: (key: string, value: number) => void cache.set(key, value, options) };
      })()
    : createSubject("lru-cache", capacity);
  let hits = 0;
  for (let i = 0; i < trace.length; i++) {
    const key = names[trace[i]];
    if (subject.get(key) !== undefined) hits++;
    else subject.set(key, i);
  }
  return hits / trace.length;
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  const numeric = (cell: string) => /^[\d.,%+-]+$/.test(cell);
  const line = (row: string[]) =>
    "| " + row.map((cell, column) => (numeric(cell) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join(" | ") + " |";
  return [line(header), "| " + widths.map((width) => "-".repeat(width)).join(" | ") + " |", ...cells.slice(1).map(line)].join("\n");
}

const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

/**
 * Each round measures every subject once, in a rotated order, and the table shows the median over
 * rounds: on a shared machine, load that comes and goes then hits every subject alike.
 */
function measureThroughput(capacity: number, size: L1Size): Map<SubjectName, Throughput> {
  const samples = new Map<SubjectName, Throughput[]>(SUBJECTS.map((name) => [name, []]));
  for (let round = 0; round < S.rounds; round++) {
    for (let i = 0; i < SUBJECTS.length; i++) {
      const name = SUBJECTS[(i + round) % SUBJECTS.length];
      samples.get(name)!.push(measureInChild(name, capacity, size));
    }
  }
  const result = new Map<SubjectName, Throughput>();
  for (const [name, runs] of samples) {
    result.set(name, {
      getOps: median(runs.map((run) => run.getOps)),
      setOps: median(runs.map((run) => run.setOps)),
      readThroughOps: median(runs.map((run) => run.readThroughOps)),
      bytesPerEntry: median(runs.map((run) => run.bytesPerEntry)),
    });
  }
  return result;
}

export interface L1BenchResult {
  settings: L1Settings;
  /** Millions of ops per CPU second. */
  throughput: { entries: number; subject: SubjectName; get: number; set: number; readThrough: number; bytesPerEntry: number }[];
  /** Hit ratio (0..1) per trace and policy. */
  hitRatio: { trace: string; ratios: Record<string, number> }[];
  hitRatioCapacity: number;
  /** W-TinyLFU minus lru-cache on zipf 0.9 + scans, in percentage points. */
  scanAdvantagePoints: number;
  tables: { throughput: string[][]; hitRatio: string[][]; memory: string[][] };
}

const POLICIES: SubjectName[] = ["L1 lru", "L1 lfu", "L1 w-tinylfu", "lru-cache"];

/** Runs the whole L1 benchmark at `size` and returns its figures and table rows. */
export function runL1Bench(size: L1Size): L1BenchResult {
  S = SIZES[size];
  const throughput: L1BenchResult["throughput"] = [];
  for (const capacity of S.throughputCapacities) {
    for (const [subject, t] of measureThroughput(capacity, size)) {
      throughput.push({
        entries: capacity,
        subject,
        get: t.getOps / 1e6,
        set: t.setOps / 1e6,
        readThrough: t.readThroughOps / 1e6,
        bytesPerEntry: t.bytesPerEntry,
      });
    }
  }
  const capacity = S.hitRatioCapacity;
  const keys = 10 * capacity;
  const length = S.traceLength;
  const traces: [string, Int32Array][] = [
    ["zipf 0.7", zipfTrace({ keys, alpha: 0.7, length, seed: 7 })],
    ["zipf 0.9", zipfTrace({ keys, alpha: 0.9, length, seed: 9 })],
    ["zipf 1.1", zipfTrace({ keys, alpha: 1.1, length, seed: 11 })],
    ["zipf 0.9 + scans", zipfWithScansTrace({ keys, alpha: 0.9, length, seed: 13, scanEvery: 5 * capacity, scanLength: 2 * capacity })],
    ["loop 1.1× capacity", loopTrace({ keys: Math.round(1.1 * capacity), length })],
  ];
  const ratios = traces.map(([trace, accesses]) => {
    const names = keyNames(accesses);
    return { trace, ratios: Object.fromEntries(POLICIES.map((name) => [name, hitRatio(name, capacity, accesses, names)])) };
  });
  const scans = ratios[3].ratios;
  const entries = (n: number) => n.toLocaleString("en");
  return {
    settings: S,
    throughput,
    hitRatio: ratios,
    hitRatioCapacity: capacity,
    scanAdvantagePoints: (scans["L1 w-tinylfu"] - scans["lru-cache"]) * 100,
    tables: {
      throughput: throughput.map((t) => [entries(t.entries), t.subject, t.get.toFixed(2), t.set.toFixed(2), t.readThrough.toFixed(2)]),
      hitRatio: ratios.map((h) => [h.trace, ...POLICIES.map((name) => percent(h.ratios[name]))]),
      memory: throughput.map((t) => [entries(t.entries), t.subject, t.bytesPerEntry.toFixed(0)]),
    },
  };
}

function main(): void {
  const measureIndex = process.argv.indexOf("--measure");
  if (measureIndex !== -1) {
    const name = process.argv[measureIndex + 1] as SubjectName;
    console.log(JSON.stringify(measureSubject(name, Number(process.argv[measureIndex + 2]))));
    return;
  }
  const size = sizeArg(process.argv);
  console.log(`L1 benchmark — Node ${process.version}${size === "full" ? "" : ` (${size})`}`);
  const result = runL1Bench(size);
  console.log(`\n## Throughput (ops per CPU second, millions)`);
  console.log(
    `${S.opsPerRun.toLocaleString("en")} ops per run; median of ${S.timedRuns} runs after ${S.warmupRuns} warm-up runs in a fresh process per subject, then median of ${S.rounds} rounds`,
  );
  console.log(
    "get: uniform over resident keys (all hits); set: uniform over 2× capacity (updates + evicting inserts); read-through: zipf 0.9 over 2× capacity, get then set on a miss\n",
  );
  console.log(table(["entries", "subject", "get", "set", "read-through"], result.tables.throughput));
  const capacity = result.hitRatioCapacity;
  console.log(
    `\n## Hit ratio: capacity ${capacity.toLocaleString("en")} entries, ${S.traceLength.toLocaleString("en")} accesses per trace, key space ${(10 * capacity).toLocaleString("en")} (zipf)`,
  );
  console.log(`zipf + scans: every ${(5 * capacity).toLocaleString("en")} zipf accesses, a scan of ${(2 * capacity).toLocaleString("en")} never-reused keys\n`);
  console.log(table(["trace", ...POLICIES], result.tables.hitRatio));
  console.log(`\nW-TinyLFU − lru-cache on zipf 0.9 + scans: ${result.scanAdvantagePoints.toFixed(1)} points (target: at least 5)`);
  console.log(`\n## Memory per entry (bytes of heap + array buffers after filling, over entries; key strings excluded)\n`);
  console.log(table(["entries", "subject", "bytes/entry"], result.tables.memory));
  if (sink === -1) console.log(sink);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
