/**
 * Records a history for the consistency checker (`history.ts`) against real processes: host
 * processes serving cache-manager (one also invalidation) on one `redis-server` reached through
 * the fault proxy, and an HTTP origin in this process whose values carry a version that only
 * grows. While readers read every key on every instance, one changer per key group makes
 * acknowledged changes (write-through, key / pattern / tag invalidation) and a fault schedule
 * runs (slow origin, follow connections killed, Redis cut, a process killed). Every operation is
 * recorded with its start and acknowledgement time; the history is then checked.
 *
 * With `l3`, three processes run with the L3 tier on, sharing one PostgreSQL server reached
 * through a second fault proxy (`l3-cut` refuses it: invalidations then wait in Redis for L3, and
 * reads skip L3 until they reached it); `l2-loss` deletes every cached value from Redis (as a
 * flush would, leaving the coherence stream), so the reads that follow are served from L3.
 *
 * The quick version runs in `npm test` (chaos/history.check.test.ts), the long one in
 * `npm run chaos` (scenario 6).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { callApi, eventually } from "../infra/node-host/testing/api.ts";
import { seededRandom } from "../lib/random.ts";
import type { Lab, Host } from "./harness.ts";
import { sleep } from "./harness.ts";
import { checkHistory, type CheckResult, type HistoryOp } from "./history.ts";
import { generateKeyPair } from "../lib/l3-keyring.ts";
import { compareStreamIds } from "../cache-manager/core/coherence/entry.ts";

export type FaultName = "slow-origin" | "follow-cut" | "redis-cut" | "process-kill" | "l3-cut" | "l2-loss";

export interface HistoryRunOptions {
  /** How long readers and changers run. */
  durationMs: number;
  /** Key groups for key / pattern / write-through changes, and for tag changes. */
  groups: number;
  tagGroups: number;
  keysPerGroup: number;
  readers: number;
  faults: readonly FaultName[];
  seed: number;
  /** Every origin load's latency outside the slow-origin fault (which makes it 400 ms). */
  originDelayMs: number;
  /** The hosts' CACHE_COHERENCE_MAX_OUTAGE_MS; the checker's other-instance bound derives from it. */
  maxOutageMs: number;
  /** Three processes with the L3 tier on (one PostgreSQL server for L3 and the services). */
  l3?: boolean;
  /** Where each change's progress is logged (optional). */
  log?: (line: string) => void;
}

export interface HistoryRun {
  history: HistoryOp[];
  result: CheckResult;
  /** The other-instance bound the history was checked with. */
  boundMs: number;
  faultsRun: string[];
  t0: number;
  /**
   * With `l3`: keys copied into L3 and reads L3 answered, summed over the live processes; and of
   * the probe keys read after each `l2-loss`, how many L3 answered.
   */
  l3?: { copied: number; hits: number; probes: number; probeHits: number };
}

/** The bound the README states: the outage limit, plus the follower's watchdog period and a request's own latency. */
export const otherInstanceBound = (maxOutageMs: number) => maxOutageMs + Math.min(1_000, Math.max(10, maxOutageMs / 4)) + 250;

/** An origin whose values are `{v}` with a per-key version; writes set it; loads may be slowed down. */
class VersionedOrigin {
  readonly versions = new Map<string, number>();
  delayMs = 0;
  /** Ids whose next load takes this long (a fill made to outlive a change). */
  readonly slowNext = new Map<string, number>();
  private server: Server | null = null;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const id = decodeURIComponent((req.url ?? "").replace(/^\/v\//, ""));
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        if (req.method === "PUT") {
          const v = (JSON.parse(body) as { v: number }).v;
          this.versions.set(id, Math.max(v, this.versions.get(id) ?? 0));
          res.writeHead(204).end();
          return;
        }
        // The value is read when the request arrives and sent after the delay: a slow load
        // returns what the origin held when it began, as a slow query would.
        const v = this.versions.get(id);
        const answer = () =>
          v === undefined ? res.writeHead(404).end() : res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ v }));
        const delay = this.slowNext.get(id) ?? this.delayMs;
        this.slowNext.delete(id);
        if (delay > 0) setTimeout(answer, delay);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const NAMESPACE = "h:";
/** L3 runs: keys written once and read by nobody until an `l2-loss`, one per loss (see `probeL3`). */
const PROBE_NAMESPACE = "p:";
const STREAM_KEY = "cachet:coherence";

const now = () => performance.now();

export async function recordHistory(lab: Lab, options: HistoryRunOptions): Promise<HistoryRun> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const redis = await lab.redis();
  const proxy = await lab.proxy(redis.port);
  const admin = new Redis(redis.url);
  lab.defer(async () => admin.disconnect());
  const origin = new VersionedOrigin();
  await origin.start();
  origin.delayMs = options.originDelayMs;
  lab.defer(() => origin.close());

  const postgres = options.l3 ? await lab.postgres() : undefined;
  const pgProxy = postgres ? await lab.proxy(postgres.port) : undefined;
  const env = {
    REDIS_URL: proxy.url("redis"),
    CACHE_COHERENCE_MAX_OUTAGE_MS: String(options.maxOutageMs),
    INVALIDATION_CONFIRM_THRESHOLD: "100000",
    ...(pgProxy
      ? {
          DATABASE_URL: postgres!.url.replace(`:${postgres!.port}/`, `:${new URL(pgProxy.url("postgres")).port}/`),
          CACHE_L3: "on",
          CACHE_L3_KEY: generateKeyPair("h1"),
        }
      : {}),
  };
  // A generous start timeout: on a loaded machine a cold host start alone can take minutes.
  const startTimeoutMs = 300_000;
  const started = await Promise.all([
    lab.host({ services: ["cache-manager", "invalidation"], env, startTimeoutMs }),
    ...Array.from({ length: options.l3 ? 2 : 1 }, () => lab.host({ services: ["cache-manager"], env, startTimeoutMs })),
  ]);
  const [a, b] = started;
  const hosts: Array<{ name: string; host: Host; alive: boolean }> = started.map((host, i) => ({ name: "abc"[i], host, alive: true }));

  // Keys: `h:g<group>:<i>` take key, pattern and write-through changes; `h:t<group>:<i>` tag changes.
  const keyGroups = Array.from({ length: options.groups }, (_, g) => Array.from({ length: options.keysPerGroup }, (_, i) => `${NAMESPACE}g${g}:${i}`));
  const tagGroups = Array.from({ length: options.tagGroups }, (_, g) => Array.from({ length: options.keysPerGroup }, (_, i) => `${NAMESPACE}t${g}:${i}`));
  const allKeys = [...keyGroups.flat(), ...tagGroups.flat()];
  const version = new Map<string, number>();
  for (const key of allKeys) {
    version.set(key, 1);
    origin.versions.set(key.slice(NAMESPACE.length), 1);
  }
  const registered = await callApi(a.url, "PUT", `/api/origins/${encodeURIComponent(NAMESPACE)}`, {
    body: { kind: "http", url: `${origin.url}/v/{id}`, writeUrl: `${origin.url}/v/{id}`, timeoutMs: 10_000 },
  });
  if (registered.status !== 200) throw new Error(`registering the origin failed: ${registered.status} ${JSON.stringify(registered.body)}`);
  // The recorded keys churn (changed, invalidated, held in L1s), so no recorded read is sure to
  // find one in L3 and in no L1 after a loss. Probe keys are: written on `a` before the history,
  // copied into L3, read by no instance until the loss they belong to.
  const probes = options.l3 ? options.faults.filter((f) => f === "l2-loss").map((_, i) => `${PROBE_NAMESPACE}${i}`) : [];
  for (const [i, key] of probes.entries()) {
    const written = await callApi(a.url, "PUT", `/api/cache/${encodeURIComponent(key)}`, { body: { value: { probe: i } }, token: "operator" });
    if (written.status !== 200) throw new Error(`writing probe ${key} failed: ${written.status} ${JSON.stringify(written.body)}`);
  }
  if (probes.length > 0) {
    const copied = await eventually(
      () => callApi(a.url, "GET", "/api/l3"),
      (r) => r.body?.entries >= probes.length,
      30_000,
    );
    if (!(copied.body?.entries >= probes.length)) throw new Error(`the probes never reached L3: ${JSON.stringify(copied.body)}`);
  }
  for (const { host } of hosts) {
    for (let tries = 0; (await callApi(host.url, "GET", `/api/cache/${encodeURIComponent(allKeys[0])}`)).status !== 200; tries++) {
      if (tries > 200) throw new Error("the origin never became visible on every instance");
      await sleep(50);
    }
  }

  const history: HistoryOp[] = [];
  const t0 = now();
  const deadline = t0 + options.durationMs;
  const running = () => now() < deadline;
  const liveHosts = () => hosts.filter((h) => h.alive);

  const bumpOrigin = (key: string) => {
    const v = version.get(key)! + 1;
    version.set(key, v);
    origin.versions.set(key.slice(NAMESPACE.length), v);
    return v;
  };

  /** Posts an invalidation on `a` and waits for `completed`; resolves to the ack time, or null. */
  const invalidate = async (path: string, body: unknown): Promise<number | null> => {
    const accepted = await callApi(a.url, "POST", path, { body, token: "operator" }).catch(() => null);
    if (accepted?.status !== 202) return null;
    const until = now() + 20_000;
    while (now() < until) {
      const status = (await callApi(a.url, "GET", `/api/invalidations/${accepted.body.id}`, { token: "viewer" }).catch(() => null))?.body?.status;
      if (status === "completed") return now();
      if (status === "failed") return null;
      await sleep(20);
    }
    return null;
  };

  /**
   * Writes wait while an `l2-loss` is prepared (see `loseL2Values`); `writing` counts those in
   * flight.
   */
  let writesHeld: Promise<void> | null = null;
  let writing = 0;
  const writeThrough = async (key: string, tags?: string[]): Promise<boolean> => {
    while (writesHeld) await writesHeld;
    writing++;
    try {
      return await writeThroughNow(key, tags);
    } finally {
      writing--;
    }
  };
  const writeThroughNow = async (key: string, tags?: string[]): Promise<boolean> => {
    const target = pick(liveHosts());
    const v = version.get(key)! + 1;
    version.set(key, v); // used even if the write fails: a later change must be newer than whatever landed
    const start = now();
    const response = await callApi(target.host.url, "PUT", `/api/cache/${encodeURIComponent(key)}`, {
      body: { value: { v }, writeMode: "write-through", ...(tags ? { tags } : {}) },
      token: "operator",
    }).catch(() => null);
    if (response?.status !== 200) return false;
    history.push({ type: "change", key, version: v, via: tags ? "tagged write-through" : "write-through", instance: target.name, start, ack: now() });
    return true;
  };

  const changer = async (keys: string[], group: string, tagged: boolean) => {
    while (running()) {
      if (tagged) {
        // Tag invalidations cover values written with the tag: write every key with it first.
        let allTagged = true;
        for (const key of keys) allTagged = (await writeThrough(key, [group])) && allTagged;
        if (!allTagged || !running()) continue;
        const start = now();
        const bumped = keys.map((key) => [key, bumpOrigin(key)] as const);
        const ack = await invalidate("/api/invalidate/tags", { tags: [group] });
        if (ack !== null) for (const [key, v] of bumped) history.push({ type: "change", key, version: v, via: "tag invalidation", instance: null, start, ack });
        continue;
      }
      const roll = random();
      if (roll < 0.25) {
        // A fill racing a change (issue 22 item 1): empty the key, start a read whose origin load
        // is slow, change and invalidate the key while that load is in flight, then read again:
        // the load's older value must not be stored after the acknowledgement.
        const key = pick(keys);
        const emptiedStart = now();
        const emptied = bumpOrigin(key);
        const emptiedAck = await invalidate("/api/invalidate", { keys: [key] });
        if (emptiedAck !== null)
          history.push({ type: "change", key, version: emptied, via: "key invalidation", instance: null, start: emptiedStart, ack: emptiedAck });
        // This load outlives the change below (an invalidation takes well under 3 s to complete).
        origin.slowNext.set(key.slice(NAMESPACE.length), 3_000);
        const fill = readOnce(key);
        await sleep(50);
        const start = now();
        const v = bumpOrigin(key);
        const ack = await invalidate("/api/invalidate", { keys: [key] });
        if (ack !== null) history.push({ type: "change", key, version: v, via: "key invalidation during a fill", instance: null, start, ack });
        await fill;
        await sleep(100);
        await Promise.all([readOnce(key), readOnce(key)]);
      } else if (roll < 0.5) {
        const key = pick(keys);
        const start = now();
        const v = bumpOrigin(key);
        const ack = await invalidate("/api/invalidate", { keys: [key] });
        if (ack !== null) history.push({ type: "change", key, version: v, via: "key invalidation", instance: null, start, ack });
      } else if (roll < 0.75) {
        const start = now();
        const bumped = keys.map((key) => [key, bumpOrigin(key)] as const);
        const ack = await invalidate("/api/invalidate/pattern", { pattern: `${NAMESPACE}${group}:*` });
        if (ack !== null)
          for (const [key, v] of bumped) history.push({ type: "change", key, version: v, via: "pattern invalidation", instance: null, start, ack });
      } else {
        await writeThrough(pick(keys));
      }
    }
  };

  /** One recorded read of `key` on a live instance. */
  const readOnce = async (key: string) => {
    const target = pick(liveHosts());
    const start = now();
    const response = await callApi(target.host.url, "GET", `/api/cache/${encodeURIComponent(key)}`, { token: "viewer" }).catch(() => null);
    const v = response?.status === 200 ? (response.body?.value as { v?: number } | undefined)?.v : undefined;
    history.push({ type: "read", key, instance: target.name, version: typeof v === "number" ? v : null, start, ack: now() });
  };

  const reader = async () => {
    while (running()) await readOnce(pick(allKeys));
  };

  /**
   * Reads a probe key on `c` (no L1 holds it) once L3 takes reads again (no invalidation waits
   * for it), and tells whether L3 answered it.
   */
  let probeIndex = 0;
  let probeHits = 0;
  const probing: Promise<void>[] = [];
  const probeL3 = async (key: string): Promise<boolean> => {
    const reader = hosts[2].host;
    // After an L3 cut its breaker stays open for a while, and after a Redis cut the L2 breaker
    // (a read that cannot take the fill lease skips L3): the probe waits, beside the schedule.
    await eventually(
      () => callApi(reader.url, "GET", "/api/stats", { token: "viewer" }),
      (r) => r.body?.breaker === "closed" && r.body?.level === "normal" && r.body?.l3?.state === "ok" && r.body?.l3?.breaker === "closed",
      60_000,
      200,
    );
    // A read that still skips L3 (an invalidation another instance just left pending for it)
    // finds no value (the probe namespace has no origin) and stores nothing: it is read again.
    const read = await eventually(
      () => callApi(reader.url, "GET", `/api/cache/${encodeURIComponent(key)}`, { token: "viewer" }).catch(() => null),
      (r) => r?.status === 200,
      20_000,
      200,
    );
    log(`probe ${key}: ${read?.status} ${JSON.stringify(read?.body)}`);
    return read?.status === 200 && read.body.source === "l3";
  };

  /**
   * Deletes every cached value from Redis, at a moment when L3 holds every acknowledged write: L3
   * does not promise the writes made within the copier's lag before a loss (README, "The L3
   * backup tier"), so the history holds new writes, lets those in flight finish, waits until the
   * copier acknowledged every announcement made so far (none of the stream up to its newest
   * entry is undelivered or pending), and only then deletes. Invalidations are not held: they
   * reach L3 before they are acknowledged, whatever the copier's lag.
   */
  const loseL2Values = async () => {
    let release = () => undefined as void;
    writesHeld = new Promise<void>((resolve) => (release = resolve));
    try {
      while (writing > 0) await sleep(5);
      const [newest] = (await admin.xrevrange(STREAM_KEY, "+", "-", "COUNT", 1)) as [string, string[]][];
      if (newest) {
        const copied = async () => {
          const field = (row: unknown[], name: string) => String(row[row.indexOf(name) + 1]);
          const groups = ((await admin.xinfo("GROUPS", STREAM_KEY)) as unknown[][]).filter((row) => field(row, "name").startsWith("cachet-l3"));
          const delivered = groups.every((row) => compareStreamIds(field(row, "last-delivered-id"), newest[0]) >= 0);
          const unacknowledged = await Promise.all(
            groups.map((row) => admin.xpending(STREAM_KEY, field(row, "name"), "-", newest[0], 1) as Promise<unknown[]>),
          );
          return delivered && unacknowledged.every((rows) => rows.length === 0);
        };
        await eventually(copied, (done) => done, 30_000, 20);
      }
      const lost = [...(await admin.keys(`cachet:v:${NAMESPACE}*`)), ...(await admin.keys(`cachet:v:${PROBE_NAMESPACE}*`))];
      if (lost.length > 0) await admin.del(...lost);
    } finally {
      writesHeld = null;
      release();
    }
  };

  const faultsRun: string[] = [];
  const faults = async () => {
    const slot = options.durationMs / (options.faults.length + 1);
    for (const fault of options.faults) {
      await sleep(slot * 0.5);
      if (!running()) return;
      const window = Math.min(slot * 0.5, 1_500);
      faultsRun.push(`${fault} at ${(now() - t0).toFixed(0)} ms`);
      log(`fault: ${fault}`);
      if (fault === "slow-origin") {
        origin.delayMs = 400;
        await sleep(window);
        origin.delayMs = options.originDelayMs;
      } else if (fault === "follow-cut") {
        const until = now() + window;
        while (now() < until) {
          const list = (await admin.client("LIST")) as string;
          for (const line of list.split("\n").filter((l) => /name=cachet-coherence:\S+:follow /.test(l))) {
            const id = /\bid=(\d+)/.exec(line)?.[1];
            if (id) await admin.client("KILL", "ID", id).catch(() => undefined);
          }
          await sleep(100);
        }
      } else if (fault === "redis-cut") {
        proxy.setMode("refuse");
        await sleep(Math.min(window, options.maxOutageMs * 0.8));
        proxy.setMode("pass");
      } else if (fault === "l2-loss") {
        await loseL2Values();
        const probe = probes[probeIndex++];
        if (probe !== undefined) probing.push(probeL3(probe).then((hit) => void (hit && probeHits++)));
      } else if (fault === "l3-cut") {
        pgProxy?.setMode("refuse");
        await sleep(window);
        pgProxy?.setMode("pass");
      } else if (fault === "process-kill") {
        hosts[1].alive = false;
        await b.kill();
      }
      await sleep(slot * 0.5 - window);
    }
  };

  await Promise.all([
    ...keyGroups.map((keys, g) => changer(keys, `g${g}`, false)),
    ...tagGroups.map((keys, g) => changer(keys, `t${g}`, true)),
    ...Array.from({ length: options.readers }, () => reader()),
    faults(),
  ]);
  proxy.setMode("pass");
  pgProxy?.setMode("pass");
  await Promise.all(probing);

  const boundMs = otherInstanceBound(options.maxOutageMs);
  const l3 = options.l3 ? { ...(await l3Figures(liveHosts().map((h) => h.host))), probeHits, probes: probes.length } : undefined;
  return { history, result: checkHistory(history, { otherInstanceBoundMs: boundMs }), boundMs, faultsRun, t0, l3 };
}

async function l3Figures(hosts: Host[]): Promise<{ copied: number; hits: number }> {
  const figures = { copied: 0, hits: 0 };
  for (const host of hosts) {
    const stats = (await callApi(host.url, "GET", "/api/stats", { token: "viewer" })).body as { l3: { copied: number }; counters: { hits: { l3?: number } } };
    figures.copied += stats.l3.copied;
    figures.hits += stats.counters.hits.l3 ?? 0;
  }
  return figures;
}
