/**
 * Section 3: HTTP through the Node host, beside a bare `node:http` server returning the same
 * payloads, measured in the same run with autocannon from a separate process.
 *
 * Two host processes serve the cache-manager service on the benchmark's Redis: "L1" with the
 * default L1, and "L2" with an L1 of one entry, so its reads of many keys are L2 hits. Only one
 * process is loaded at a time; each round rotates whether the bare server or the host goes first.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runChild } from "../lib/child.ts";
import { sampleValue } from "../lib/cachet.ts";
import { startBenchHost, type BenchHost } from "../lib/host.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { median, rate } from "../lib/stats.ts";

/** autocannon reports latency in whole milliseconds. */
const wholeMs = (value: number) => (value < 1 ? "<1 ms" : `${Math.round(value)} ms`);
import type { LoadFigures, LoadJob } from "./http-loadgen.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const ADMIN_TOKEN = "bench-admin-token-0123456789";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

const SETTINGS: Record<Mode, { durationSeconds: number; rounds: number; connections: number; keys: number }> = {
  tiny: { durationSeconds: 0.5, rounds: 1, connections: 16, keys: 200 },
  quick: { durationSeconds: 1.5, rounds: 3, connections: 16, keys: 1_000 },
  full: { durationSeconds: 5, rounds: 5, connections: 16, keys: 10_000 },
};

const SCENARIOS = [
  { id: "getL1", label: "GET /api/cache/:key (L1 hit)", bare: "bareGet" },
  { id: "getL2", label: "GET /api/cache/:key (L2 hit)", bare: "bareGet" },
  { id: "put", label: "PUT /api/cache/:key", bare: "barePut" },
  { id: "batch", label: "POST /api/batch/get (100 keys)", bare: "bareBatch" },
] as const;

export interface HttpFigures {
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  runs: number[];
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { ...init, headers: { "content-type": "application/json", ...auth, ...(init.headers as Record<string, string>) } });
  return { status: response.status, text: await response.text() };
}

/** The bare node:http server (http-bare.ts) over `payloadFile`, on `nodePath` (default this Node). */
export function startBare(payloadFile: string, nodePath = process.execPath): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = spawn(nodePath, [...process.execArgv, here("./http-bare.ts"), payloadFile], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve({ url: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, pid: child.pid!, stop: () => child.kill("SIGTERM") });
    });
    child.once("exit", (code) => reject(new Error(`bare server exited with ${code}`)));
  });
}

export async function runHttp(mode: Mode, redisUrl: string, log: (line: string) => void): Promise<Omit<SectionResult, "seconds">> {
  const settings = SETTINGS[mode];
  const dir = mkdtempSync(join(tmpdir(), "cachet-bench-http-"));
  const hosts: BenchHost[] = [];
  let bare: { url: string; stop: () => void } | undefined;
  try {
    log("  starting two host processes (L1, and L2 with a one-entry L1)");
    const startedAt = performance.now();
    const [l1Host, l2Host] = await Promise.all([
      startBenchHost({ redisUrl, adminToken: ADMIN_TOKEN }),
      startBenchHost({ redisUrl, adminToken: ADMIN_TOKEN, env: { CACHE_L1_MAX_ENTRIES: "1" } }),
    ]);
    hosts.push(l1Host, l2Host);
    const startupSeconds = (performance.now() - startedAt) / 1000;

    const keys = Array.from({ length: settings.keys }, (_, i) => `bench3:${i}`);
    for (let i = 0; i < keys.length; i += 1_000) {
      const entries = keys.slice(i, i + 1_000).map((key, j) => ({ key, value: sampleValue(i + j), ttlSeconds: 3600 }));
      const stored = await json(`${l1Host.url}/api/batch/set`, { method: "POST", body: JSON.stringify({ entries }) });
      if (stored.status !== 200) throw new Error(`batch set failed: ${stored.status} ${stored.text}`);
    }
    const hot = keys.slice(0, 100);
    const batchBody = JSON.stringify({ keys: hot });
    const putBody = JSON.stringify({ value: sampleValue("put"), ttlSeconds: 3600 });
    // Fill the L1 host's L1 and capture the payloads the bare server will return.
    for (const key of hot) await json(`${l1Host.url}/api/cache/${key}`);
    const getSample = await json(`${l1Host.url}/api/cache/${hot[0]}`);
    const l2Sample = await json(`${l2Host.url}/api/cache/${keys[1]}`);
    const putSample = await json(`${l1Host.url}/api/cache/${hot[0]}`, { method: "PUT", body: putBody });
    const batchSample = await json(`${l1Host.url}/api/batch/get`, { method: "POST", body: batchBody });
    const sources = { getL1: JSON.parse(getSample.text).source, getL2: JSON.parse(l2Sample.text).source };
    const batchSources = (JSON.parse(batchSample.text) as { entries: { source: string }[] }).entries.map((e) => e.source);
    const payloadFile = join(dir, "payloads.json");
    writeFileSync(payloadFile, JSON.stringify({ get: getSample.text, put: putSample.text, batch: batchSample.text }));
    bare = await startBare(payloadFile);

    const base = { connections: settings.connections, durationSeconds: settings.durationSeconds };
    const hotPaths = hot.map((key) => `/api/cache/${key}`);
    const jobs: Record<string, LoadJob> = {
      bareGet: { ...base, name: "bareGet", url: bare.url, method: "GET", paths: hotPaths, headers: auth },
      getL1: { ...base, name: "getL1", url: l1Host.url, method: "GET", paths: hotPaths, headers: auth },
      getL2: { ...base, name: "getL2", url: l2Host.url, method: "GET", paths: keys.map((key) => `/api/cache/${key}`), headers: auth },
      barePut: {
        ...base,
        name: "barePut",
        url: bare.url,
        method: "PUT",
        paths: hotPaths,
        headers: { ...auth, "content-type": "application/json" },
        body: putBody,
      },
      put: {
        ...base,
        name: "put",
        url: l1Host.url,
        method: "PUT",
        paths: keys.slice(100, 1100).map((key) => `/api/cache/${key}`),
        headers: { ...auth, "content-type": "application/json" },
        body: putBody,
      },
      bareBatch: {
        ...base,
        name: "bareBatch",
        url: `${bare.url}/api/batch/get`,
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: batchBody,
      },
      batch: {
        ...base,
        name: "batch",
        url: `${l1Host.url}/api/batch/get`,
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: batchBody,
      },
    };
    const samples = new Map<string, LoadFigures[]>(Object.keys(jobs).map((name) => [name, []]));
    // Warm-up: JIT and connection pools of both servers.
    const warmFile = join(dir, "warm.json");
    writeFileSync(
      warmFile,
      JSON.stringify(["bareGet", "getL1", "getL2"].map((name) => ({ ...jobs[name], durationSeconds: Math.min(1, settings.durationSeconds) }))),
    );
    await runChild(here("./http-loadgen.ts"), [warmFile]);
    for (let round = 0; round < settings.rounds; round++) {
      log(`  round ${round + 1}/${settings.rounds}`);
      const order =
        round % 2 === 0
          ? ["bareGet", "getL1", "getL2", "barePut", "put", "bareBatch", "batch"]
          : ["getL2", "getL1", "bareGet", "put", "barePut", "batch", "bareBatch"];
      const file = join(dir, `round-${round}.json`);
      writeFileSync(file, JSON.stringify(order.map((name) => jobs[name])));
      const { results } = await runChild<{ results: LoadFigures[] }>(here("./http-loadgen.ts"), [file]);
      for (const result of results) samples.get(result.name)!.push(result);
    }
    const figures: Record<string, HttpFigures> = {};
    for (const [name, runs] of samples) {
      figures[name] = {
        reqPerSec: median(runs.map((r) => r.reqPerSec)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
        runs: runs.map((r) => Math.round(r.reqPerSec)),
      };
    }
    const ratios = Object.fromEntries(SCENARIOS.map((s) => [s.id, figures[s.id].reqPerSec / figures[s.bare].reqPerSec]));
    const rows = SCENARIOS.flatMap((s) => {
      const host = figures[s.id];
      const ceiling = figures[s.bare];
      return [
        [s.label, "Node host", rate(host.reqPerSec), wholeMs(host.p50), wholeMs(host.p99), ratios[s.id].toFixed(2), String(host.non2xx + host.errors)],
        ["", "bare node:http", rate(ceiling.reqPerSec), wholeMs(ceiling.p50), wholeMs(ceiling.p99), "", String(ceiling.non2xx + ceiling.errors)],
      ];
    });
    return {
      id: "http",
      title: "3. HTTP through the Node host vs bare node:http",
      tables: [{ header: ["request", "server", "req/s", "p50", "p99", "host ÷ bare", "errors"], rows }],
      notes: [
        `autocannon in its own process, ${settings.connections} connections, ${settings.durationSeconds} s per run, median of ${settings.rounds} rounds (the bare server and the host alternate first) after a short warm-up. Bearer-token auth on every request. Load generator, server and Redis share the machine's cores. The two hosts took ${startupSeconds.toFixed(1)} s to start (in parallel).`,
        "The per-token rate limiter runs on every host request with a limit set far above what the run reaches (CACHE_RATE_LIMIT), so its cost is included and nothing is refused; the errors column counts non-2xx replies and socket errors.",
        `The bare server returns the exact bodies the host returned (GET ${getSample.text.length} B, PUT ${putSample.text.length} B, batch ${batchSample.text.length} B) after reading the request body; it does no routing, auth, validation or cache work.`,
        `Sources checked: L1 host answered "${sources.getL1}", L2 host answered "${sources.getL2}"; the batch's 100 keys came from ${[...new Set(batchSources)].join(", ")}. PUT writes L2, announces on the coherence stream and refills L1 before it answers.`,
      ],
      data: {
        settings,
        startupSeconds,
        figures,
        ratios,
        sources,
        payloadBytes: { get: getSample.text.length, put: putSample.text.length, batch: batchSample.text.length },
      },
    };
  } finally {
    bare?.stop();
    await Promise.all(hosts.map((host) => host.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
