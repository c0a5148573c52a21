/**
 * Section 8: serving the way `npm start` does — the whole platform (every service) on a real
 * PostgreSQL server — measured with wrk, which leaves the bare node:http server CPU-bound:
 *
 * - start-up time (cold: first start with migrations; warm: second start) and idle RSS;
 * - L1-hit `GET /api/cache/:key` over 5,000 keys in rotation, one host process ÷ a bare
 *   node:http process that answers each path with the exact bytes the host returned for it;
 * - the same with CACHET_WORKERS = the machine's cores, ÷ the same single bare process;
 * - L2-hit GETs (a host whose L1 holds one entry) over the same keys, `PUT /api/cache/:key` (L2
 *   write and coherence announcement) over 5,000 other keys, and `POST /api/batch/get` of 100
 *   L1-hit keys, each ÷ a bare node:http process answering the exact bytes the host answered;
 * - one host process with tracing on (OTLP/HTTP to a sink in this process) ÷ the same host with
 *   tracing off, the default: what tracing costs when on; off, it is one boolean test a request;
 * - CPU µs per request of each server (from /proc: utime + stime of the server's processes over
 *   the run ÷ requests), and the bare server's CPU use in cores (1.0 = one core saturated).
 *
 * BENCH_NODE=/path/to/node runs the hosts and the bare server on another Node binary (the report
 * names the version), e.g. to compare Node 20, 22 and 24.
 */
import { execFileSync, execSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { sampleValue } from "../lib/cachet.ts";
import { startBenchHost, type BenchHost } from "../lib/host.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { bytes, median, rate } from "../lib/stats.ts";
import { startPostgresServer } from "../../infra/node-host/testing/postgres.ts";
import { startBare } from "./http.ts";
import { mapBounded } from "../../lib/concurrency.ts";

const ADMIN_TOKEN = "bench-admin-token-0123456789";
const KEYS = 5_000;

/** `idleRateSeconds`: how long a server's idle CPU rate is measured before each measured run. */
const SETTINGS: Record<Mode, { durationSeconds: number; rounds: number; connections: number; idleSeconds: number; idleRateSeconds: number }> = {
  tiny: { durationSeconds: 1, rounds: 1, connections: 16, idleSeconds: 1, idleRateSeconds: 0.25 },
  quick: { durationSeconds: 4, rounds: 3, connections: 32, idleSeconds: 5, idleRateSeconds: 1 },
  full: { durationSeconds: 10, rounds: 5, connections: 32, idleSeconds: 10, idleRateSeconds: 1 },
};

/** Requests in flight while the section reads every key over HTTP to capture the answers. */
const CAPTURE_CONCURRENCY = 16;

const CLOCK_TICKS = Number(execSync("getconf CLK_TCK", { encoding: "utf8" }).trim()) || 100;

/** CPU seconds used so far by `pid` and its child processes (cluster workers). */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command (which may hold spaces): state ppid ... utime(14) stime(15)
      // cutime(16) cstime(17). The children that exited (PostgreSQL's closed connections) count
      // in the parent's cutime and cstime, or their CPU would vanish from the sum.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(entry) === pid) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      else if (Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone meanwhile.
    }
  }
  return ticks / CLOCK_TICKS;
}

function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : 0;
}

interface WrkRun {
  name: string;
  reqPerSec: number;
  requests: number;
  errors: number;
  cpuUsPerRequest: number;
  /** Server CPU seconds ÷ wall seconds: 1.0 is one core busy all the time. */
  cores: number;
  load: number;
}

/** Runs wrk against `url` over `script`; returns what it printed. */
function runWrk(url: string, script: string, durationSeconds: number, connections: number): string {
  return execFileSync("wrk", ["-t2", `-c${connections}`, `-d${durationSeconds}s`, "-s", script, url], { encoding: "utf8" });
}

/**
 * One measured wrk run against `url` over the rotation script, with the server's CPU measured
 * around it. The server's idle CPU rate (timers, reports, the other services' background work: it
 * matters when a loaded machine leaves few requests per second) is measured for `idleRateSeconds`
 * just before, and taken off.
 */
async function wrk(
  name: string,
  url: string,
  pid: number,
  script: string,
  { durationSeconds, connections, idleRateSeconds }: Pick<(typeof SETTINGS)[Mode], "durationSeconds" | "connections" | "idleRateSeconds">,
): Promise<WrkRun> {
  const idleFrom = cpuSeconds(pid);
  const idleStarted = performance.now();
  await new Promise((resolve) => setTimeout(resolve, idleRateSeconds * 1000));
  const idleRate = (cpuSeconds(pid) - idleFrom) / ((performance.now() - idleStarted) / 1000);
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  const out = runWrk(url, script, durationSeconds, connections);
  const wall = (performance.now() - started) / 1000;
  const cpu = Math.max(0, cpuSeconds(pid) - cpuBefore - idleRate * wall);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const errors =
    Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) +
    (/Socket errors: (.*)/
      .exec(out)?.[1]
      ?.match(/\d+/g)
      ?.map(Number)
      .reduce((a, b) => a + b, 0) ?? 0);
  return {
    name,
    reqPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    requests,
    errors,
    cpuUsPerRequest: requests ? (cpu * 1e6) / requests : 0,
    cores: cpu / wall,
    load: loadavg()[0],
  };
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { ...init, headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` } });
  return { status: response.status, text: await response.text() };
}

/** Each path's answer from the host at `url` (read with a few requests in flight), and the sources the answers named. */
async function captureAnswers(url: string, paths: string[]): Promise<{ byPath: Record<string, string>; sources: Set<string> }> {
  const answers = await mapBounded(paths, CAPTURE_CONCURRENCY, async (path) => (await json(`${url}${path}`)).text);
  const sources = new Set(answers.map((text) => (JSON.parse(text) as { source: string }).source));
  return { byPath: Object.fromEntries(paths.map((path, i) => [path, answers[i]])), sources };
}

export async function runServing(mode: Mode, redisUrl: string, log: (line: string) => void): Promise<Omit<SectionResult, "seconds">> {
  const settings = SETTINGS[mode];
  const nodePath = process.env.BENCH_NODE || process.execPath;
  const nodeVersion = execFileSync(nodePath, ["--version"], { encoding: "utf8" }).trim();
  const workers = availableParallelism();
  const dir = mkdtempSync(join(tmpdir(), "cachet-bench-serving-"));
  const postgres = await startPostgresServer();
  const hosts: BenchHost[] = [];
  let bare: Awaited<ReturnType<typeof startBare>> | undefined;
  let bareL2: Awaited<ReturnType<typeof startBare>> | undefined;
  let sink: ReturnType<typeof createServer> | undefined;
  try {
    const platform = { redisUrl, adminToken: ADMIN_TOKEN, services: [], nodePath, env: { DATABASE_URL: postgres.url, CACHE_L1_MAX_ENTRIES: "100000" } };
    log(`  starting the whole platform twice on ${nodeVersion} (cold, then warm)`);
    const cold = await startBenchHost(platform);
    await cold.stop();
    const host = await startBenchHost(platform);
    hosts.push(host);
    await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1000));
    const idleRss = rssOf(host.pid);

    const paths = Array.from({ length: KEYS }, (_, i) => `/api/cache/serving:${i}`);
    for (let i = 0; i < KEYS; i += 1_000) {
      const entries = paths.slice(i, i + 1_000).map((path, j) => ({ key: path.slice("/api/cache/".length), value: sampleValue(i + j), ttlSeconds: 3600 }));
      const stored = await json(`${host.url}/api/batch/set`, { method: "POST", body: JSON.stringify({ entries }) });
      if (stored.status !== 200) throw new Error(`batch set failed: ${stored.status} ${stored.text}`);
    }
    // Twice: the second answer of each key is an L1 hit, and its bytes are what the bare server returns.
    await mapBounded(paths, CAPTURE_CONCURRENCY, (path) => json(`${host.url}${path}`));
    const { byPath, sources } = await captureAnswers(host.url, paths);
    // A PUT's and a 100-key batch's answers, for the bare server's PUT and POST.
    const putBody = JSON.stringify({ value: sampleValue("put"), ttlSeconds: 3600 });
    const putSample = await json(`${host.url}/api/cache/serving-put:0`, { method: "PUT", body: putBody });
    const batchBody = JSON.stringify({ keys: paths.slice(0, 100).map((path) => path.slice("/api/cache/".length)) });
    const batchSample = await json(`${host.url}/api/batch/get`, { method: "POST", body: batchBody });
    for (const sample of [putSample, batchSample]) if (sample.status !== 200) throw new Error(`sample failed: ${sample.status} ${sample.text}`);
    const batchSources = new Set((JSON.parse(batchSample.text) as { entries: { source?: string }[] }).entries.map((e) => e.source));
    const payloadFile = join(dir, "payloads.json");
    writeFileSync(payloadFile, JSON.stringify({ byPath, put: putSample.text, batch: batchSample.text }));
    bare = await startBare(payloadFile, nodePath);

    log("  starting a host whose L1 holds one entry (L2 hits)");
    const l2Host = await startBenchHost({ ...platform, env: { ...platform.env, CACHE_L1_MAX_ENTRIES: "1" } });
    hosts.push(l2Host);
    const { byPath: l2ByPath, sources: l2Sources } = await captureAnswers(l2Host.url, paths);
    const l2PayloadFile = join(dir, "payloads-l2.json");
    writeFileSync(l2PayloadFile, JSON.stringify({ byPath: l2ByPath }));
    bareL2 = await startBare(l2PayloadFile, nodePath);

    log(`  starting ${workers} workers`);
    const cluster = await startBenchHost({ ...platform, env: { ...platform.env, CACHET_WORKERS: String(workers) } });
    hosts.push(cluster);

    log("  starting a host with tracing on (OTLP to a sink here)");
    sink = createServer((req, res) => req.resume().on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}")));
    await new Promise<void>((resolve) => sink!.listen(0, "127.0.0.1", resolve));
    const traced = await startBenchHost({
      ...platform,
      env: { ...platform.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}` },
    });
    hosts.push(traced);

    const auth = `wrk.headers["authorization"] = "Bearer ${ADMIN_TOKEN}"\n`;
    const rotate = (prefix: string) => `local i = 0\nrequest = function()\n  i = i % ${KEYS} + 1\n  return wrk.format(nil, "${prefix}" .. (i - 1))\nend\n`;
    const withBody = (method: string, body: string) =>
      `wrk.method = "${method}"\nwrk.headers["content-type"] = "application/json"\nwrk.body = [==[${body}]==]\n`;
    const scripts = { get: join(dir, "get.lua"), put: join(dir, "put.lua"), batch: join(dir, "batch.lua") };
    writeFileSync(scripts.get, auth + rotate("/api/cache/serving:"));
    writeFileSync(scripts.put, auth + withBody("PUT", putBody) + rotate("/api/cache/serving-put:"));
    writeFileSync(scripts.batch, `${auth}${withBody("POST", batchBody)}wrk.path = "/api/batch/get"\n`);
    /** Each figure: a server, and what wrk sends it. */
    const targets = {
      bare: { url: bare.url, pid: bare.pid, script: scripts.get },
      host: { url: host.url, pid: host.pid, script: scripts.get },
      workers: { url: cluster.url, pid: cluster.pid, script: scripts.get },
      traced: { url: traced.url, pid: traced.pid, script: scripts.get },
      bareL2: { url: bareL2.url, pid: bareL2.pid, script: scripts.get },
      l2: { url: l2Host.url, pid: l2Host.pid, script: scripts.get },
      barePut: { url: bare.url, pid: bare.pid, script: scripts.put },
      put: { url: host.url, pid: host.pid, script: scripts.put },
      bareBatch: { url: bare.url, pid: bare.pid, script: scripts.batch },
      batch: { url: host.url, pid: host.pid, script: scripts.batch },
    };
    type Name = keyof typeof targets;
    // Two phases: the GETs with every host up, then the writes and batches with the other hosts
    // stopped, so that no other process of the run reads the PUTs' announcements meanwhile.
    const phases: { names: Name[]; before?: () => Promise<void> }[] = [
      { names: ["bare", "host", "workers", "traced", "bareL2", "l2"] },
      {
        names: ["barePut", "put", "bareBatch", "batch"],
        before: async () => {
          log("  stopping the other hosts for the PUT and batch runs");
          await Promise.all([cluster, traced, l2Host].map((h) => h.stop()));
        },
      },
    ];
    const runs: WrkRun[] = [];
    for (const phase of phases) {
      await phase.before?.();
      // Warm-up: JIT, and every worker's L1 (each worker reads each key from L2 once).
      for (const name of phase.names) {
        const t = targets[name];
        runWrk(t.url, t.script, Math.min(settings.durationSeconds, 3), settings.connections);
      }
      for (let round = 0; round < settings.rounds; round++) {
        log(`  round ${round + 1}/${settings.rounds}: ${phase.names.join(", ")}`);
        // Each host figure beside its bare figure; the order reverses every other round.
        const order = round % 2 === 0 ? phase.names : [...phase.names].reverse();
        for (const name of order) {
          const t = targets[name];
          runs.push(await wrk(name, t.url, t.pid, t.script, settings));
        }
      }
    }
    const figure = (name: Name) => {
      const mine = runs.filter((r) => r.name === name);
      return {
        reqPerSec: median(mine.map((r) => r.reqPerSec)),
        cpuUsPerRequest: median(mine.map((r) => r.cpuUsPerRequest)),
        cores: median(mine.map((r) => r.cores)),
        errors: mine.reduce((sum, r) => sum + r.errors, 0),
        load: median(mine.map((r) => r.load)),
        runs: mine.map((r) => Math.round(r.reqPerSec)),
      };
    };
    const figures = Object.fromEntries(Object.keys(targets).map((name) => [name, figure(name as Name)])) as Record<Name, ReturnType<typeof figure>>;
    const ratios = {
      oneProcess: figures.host.reqPerSec / figures.bare.reqPerSec,
      allCores: figures.workers.reqPerSec / figures.bare.reqPerSec,
      tracingOn: figures.traced.reqPerSec / figures.host.reqPerSec,
      l2Hit: figures.l2.reqPerSec / figures.bareL2.reqPerSec,
      put: figures.put.reqPerSec / figures.barePut.reqPerSec,
      batch: figures.batch.reqPerSec / figures.bareBatch.reqPerSec,
    };
    const row = (label: string, f: (typeof figures)["bare"], ratio: string) => [
      label,
      rate(f.reqPerSec),
      f.cpuUsPerRequest.toFixed(1),
      f.cores.toFixed(2),
      ratio,
      f.load.toFixed(1),
      String(f.errors),
    ];
    return {
      id: "serving",
      title: "8. Serving as npm start does: start-up, idle memory, L1 and L2 hits over 5,000 keys, PUTs and batch gets (wrk)",
      tables: [
        {
          header: ["start-up (cold)", "start-up (warm)", "idle RSS (host process)", "Node"],
          rows: [[`${(cold.startMs / 1000).toFixed(2)} s`, `${(host.startMs / 1000).toFixed(2)} s`, bytes(idleRss), nodeVersion]],
        },
        {
          header: ["server", "req/s", "CPU µs / request", "server CPU (cores)", "÷ bare", "load avg", "errors"],
          rows: [
            row("bare node:http, 1 process", figures.bare, ""),
            row("Node host, 1 process", figures.host, ratios.oneProcess.toFixed(2)),
            row(`Node host, ${workers} workers`, figures.workers, ratios.allCores.toFixed(2)),
            row("Node host, 1 process, tracing on", figures.traced, `${ratios.tracingOn.toFixed(2)} of tracing off`),
          ],
        },
        {
          header: ["request", "server", "req/s", "CPU µs / request", "server CPU (cores)", "÷ bare", "load avg", "errors"],
          rows: [
            ["GET /api/cache/:key (L2 hit)", ...row("Node host, L1 of one entry", figures.l2, ratios.l2Hit.toFixed(2))],
            ["", ...row("bare node:http", figures.bareL2, "")],
            ["PUT /api/cache/:key", ...row("Node host", figures.put, ratios.put.toFixed(2))],
            ["", ...row("bare node:http", figures.barePut, "")],
            ["POST /api/batch/get (100 keys)", ...row("Node host", figures.batch, ratios.batch.toFixed(2))],
            ["", ...row("bare node:http", figures.bareBatch, "")],
          ],
        },
      ],
      notes: [
        `The whole platform (every service, as \`npm start\`) on a PostgreSQL server; start-up is spawn to "Cachet is running" (cold includes creating the schemas and migrations; warm is a second start). Idle RSS is the host process's after ${settings.idleSeconds} s idle; the database is a separate server process, as with \`npm start\`.`,
        `wrk -t2 -c${settings.connections}, ${settings.durationSeconds} s per run, median of ${settings.rounds} rounds (order alternates) after a warm-up; each request reads the next of ${KEYS.toLocaleString("en")} keys (answers were ${[...sources].join(", ")}). Bearer auth and the rate limiter on every host request. The bare server answers each path with the exact bytes the host returned for it (one Map lookup).`,
        `Second table, same run and wrk settings: L2 hits from a host whose L1 holds one entry, reading the same ${KEYS.toLocaleString("en")} keys (answers were ${[...l2Sources].join(", ")}); PUTs of a ${putBody.length}-byte body over ${KEYS.toLocaleString("en")} other keys (each an L2 write and an announcement on the coherence stream; the PUT and batch runs come after the GET runs, with the other hosts stopped); a 100-key batch get of L1-hit keys (the entries came from ${[...batchSources].join(", ")}; ${batchSample.text.length} bytes). Each bare figure answers the same method with the exact bytes the host answered (for the L2 row, per path).`,
        "Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (the host, 1 process row): then the SDK is not loaded and a request pays one boolean test. The tracing-on row exports every span (request, cache read and tiers, Redis calls) to a sink in the benchmark process.",
        `CPU µs / request is the server's utime + stime (all its processes) over the run, less its idle rate measured for ${settings.idleRateSeconds} s just before, ÷ requests, so it holds better than req/s on a loaded machine; server CPU of the bare server near 1.0 means wrk kept it CPU-bound. wrk, the servers and Redis share the machine's cores with other work: the load average is given per figure.`,
      ],
      data: { settings, nodeVersion, workers, startMs: { cold: cold.startMs, warm: host.startMs }, idleRss, figures, ratios },
    };
  } finally {
    bare?.stop();
    bareL2?.stop();
    sink?.close();
    await Promise.all(hosts.map((h) => h.stop()));
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
