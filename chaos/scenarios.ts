/**
 * The five fault scenarios of issue 9 and the consistency histories of issue 22, each against real `redis-server` / PostgreSQL processes
 * and host processes, each returning a headline figure and the checks that make its verdict.
 * `quick` shortens outages and sizes for the Vitest run; `npm run chaos` runs the full ones.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { encodeEnvelope } from "../cache-manager/core/envelope.ts";
import { callApi, eventually } from "../infra/node-host/testing/api.ts";
import { TEST_INTERNAL_SECRET } from "../infra/node-host/testing/tokens.ts";
import { percentile } from "../lib/metrics/percentile.ts";
import { Checks, Lab, sleep, type Host, type ScenarioResult } from "./harness.ts";
import { schemaUrlFor } from "../infra/node-host/runtime/sqldb/postgres.ts";
import { describeViolation } from "./history.ts";
import { recordHistory } from "./history-run.ts";

export interface ScenarioOptions {
  quick: boolean;
  log?: (line: string) => void;
}

type Scenario = (lab: Lab, checks: Checks, options: ScenarioOptions) => Promise<string>;

async function run(id: number, name: string, options: ScenarioOptions, body: Scenario): Promise<ScenarioResult> {
  const lab = new Lab();
  const checks = new Checks();
  const started = Date.now();
  let figure: string;
  try {
    figure = await body(lab, checks, options);
  } catch (error) {
    checks.check("scenario ran to its end", false, (error as Error).stack ?? String(error));
    figure = `aborted: ${(error as Error).message.split("\n")[0]}`;
  } finally {
    await lab.close();
  }
  const verdict = checks.list.length > 0 && checks.list.every((c) => c.ok) ? "pass" : "fail";
  return { id, name, figure, checks: checks.list, verdict, durationMs: Date.now() - started };
}

const stats = async (host: Host) => (await callApi(host.url, "GET", "/api/stats")).body;
const get = (host: Host, key: string) => callApi(host.url, "GET", `/api/cache/${encodeURIComponent(key)}`);
const put = (host: Host, key: string, body: unknown) => callApi(host.url, "PUT", `/api/cache/${encodeURIComponent(key)}`, { body });

/** Waits for a warming run to finish; returns it. */
async function finishedRun(host: Host, runId: number, timeoutMs = 60_000) {
  return eventually(
    async () => (await callApi(host.url, "GET", `/api/warming/runs/${runId}`)).body,
    (r) => ["succeeded", "failed", "cancelled"].includes(r?.status),
    timeoutMs,
    200,
  );
}

// -------------------------------------------------------------------------------------------------
// 1. Redis unreachable under load

export function redisUnreachable(options: ScenarioOptions): Promise<ScenarioResult> {
  return run(1, "Redis unreachable under load", options, async (lab, checks) => {
    const outageMs = options.quick ? 4_000 : 10_000;
    const redis = await lab.redis();
    const proxy = await lab.proxy(redis.port);
    const [cut, other] = await Promise.all([
      lab.host({ services: ["cache-manager"], env: { REDIS_URL: proxy.url("redis") } }),
      lab.host({ services: ["cache-manager"], env: { REDIS_URL: redis.url } }),
    ]);
    const hot = Array.from({ length: 40 }, (_, i) => `chaos1:hot:${i}`);
    const changed = hot.slice(0, 10);
    for (const key of hot) await put(cut, key, { value: `v1:${key}` });
    const warm = await Promise.all(hot.map((key) => get(cut, key)));
    checks.check(
      "hot set in L1 before the outage",
      warm.every((r) => r.body?.source === "l1"),
      warm.filter((r) => r.body?.source === "l1").length,
    );

    // Load: hot-key reads (L1 hits) plus misses that go to L2 and trip the breaker.
    let outage = false;
    let stop = false;
    const during = { hits: 0, errors: 0, misses: 0 };
    const worker = async (seed: number) => {
      for (let i = seed; !stop; i++) {
        const key = i % 5 === 0 ? `product:${1 + ((i * 7919) % 9000)}` : hot[i % hot.length];
        const r = await get(cut, key).catch(() => ({ status: 0, body: null }));
        if (!outage || !key.startsWith("chaos1:")) continue;
        during.hits++;
        if (r.status !== 200) during.errors++;
      }
    };
    const workers = [0, 1, 2, 3].map((s) => worker(s * 1000));
    await sleep(300);
    proxy.setMode("refuse");
    outage = true;
    const levels = new Set<string>();
    const watchLevels = (async () => {
      while (outage) {
        levels.add((await stats(cut)).level);
        await sleep(200);
      }
    })();
    await sleep(500);
    // While the instance is cut off, another one changes values it holds.
    const writes = await Promise.all(changed.map((key) => put(other, key, { value: `v2:${key}` })));
    checks.check(
      "values changed elsewhere during the outage",
      writes.every((w) => w.status === 200),
      writes.map((w) => w.status).join(","),
    );
    await sleep(outageMs - 500);
    outage = false;
    await watchLevels;
    proxy.setMode("pass");
    const back = Date.now();
    // Recovered: the breaker closed again (a half-open breaker admits one trial read and refuses the
    // rest, which then answer 503) and the coherence follower caught up.
    const recovered = await eventually(
      () => stats(cut),
      (s) => s.level === "normal" && s.breaker === "closed" && s.coherence.connected,
      45_000,
      100,
    );
    const recoveryMs = Date.now() - back;
    stop = true;
    await Promise.all(workers);

    const after = await Promise.all(changed.map((key) => get(cut, key)));
    const stale = after.filter((r, i) => r.status === 200 && r.body?.value !== `v2:${changed[i]}`).length;
    const unchanged = await Promise.all(hot.slice(10).map((key) => get(cut, key)));
    checks.check("L1 hits answered during the outage", during.hits > 0, during.hits);
    checks.check("errors on L1 hits: 0", during.errors === 0, during.errors);
    checks.check(
      "breaker opened: degradation level left normal",
      [...levels].some((l) => l !== "normal"),
      [...levels].join(","),
    );
    checks.check("recovered when Redis returned", recovered.level === "normal", `${recoveryMs} ms`);
    checks.check("no changed value served after reconnecting", stale === 0, `${stale} stale of ${changed.length}`);
    checks.check(
      "changed values answered after recovery",
      after.every((r) => r.status === 200),
      after.map((r) => r.status).join(","),
    );
    checks.check(
      "unchanged values still served",
      unchanged.every((r, i) => r.body?.value === `v1:${hot[10 + i]}`),
      "",
    );
    return `${during.hits} L1 hits in ${outageMs / 1000} s cut off, ${during.errors} errors; level ${[...levels].join("→")}; normal ${recoveryMs} ms after; ${stale}/${changed.length} stale`;
  });
}

// -------------------------------------------------------------------------------------------------
// 2. Redis restarted empty

export function redisRestartedEmpty(options: ScenarioOptions): Promise<ScenarioResult> {
  return run(2, "Redis restarted empty", options, async (lab, checks) => {
    const hotCount = options.quick ? 100 : 500;
    const first = await lab.redis();
    const postgres = await lab.postgres();
    const env = { REDIS_URL: first.url, DATABASE_URL: postgres.url, CACHET_DATABASE_PREFIX: "chaos2_", CACHE_DEMO_LATENCY_MS: "0", WARMING_POLL_MS: "200" };
    const [a, b] = await Promise.all([lab.host({ services: ["cache-manager", "warming"], env }), lab.host({ services: ["cache-manager"], env })]);
    const keys = Array.from({ length: hotCount }, (_, i) => `product:${i + 1}`);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < keys.length; i += 100) await callApi(a.url, "POST", "/api/batch/get", { body: { keys: keys.slice(i, i + 100) } });
    }
    for (let i = 0; i < keys.length; i += 100) await callApi(b.url, "POST", "/api/batch/get", { body: { keys: keys.slice(i, i + 100) } });
    const job = async (name: string, action: "save" | "restore") => {
      const created = await callApi(a.url, "POST", "/api/warming/jobs", {
        body: { name, namespace: "product:", source: { type: "snapshot", action, ...(action === "save" ? { topN: hotCount } : {}) } },
      });
      if (created.status !== 200) throw new Error(`creating the ${action} job: ${created.status} ${JSON.stringify(created.body)}`);
      const triggered = await callApi(a.url, "POST", "/api/warming/trigger", { body: { jobId: created.body.id } });
      if (triggered.status !== 200) throw new Error(`triggering the ${action} job: ${triggered.status} ${JSON.stringify(triggered.body)}`);
      return finishedRun(a, triggered.body.runId);
    };
    const saved = await job("chaos-snapshot-save", "save");
    checks.check("snapshot of the hot set saved", saved.status === "succeeded" && saved.warmed >= hotCount * 0.9, `${saved.status}, ${saved.warmed} keys`);
    const before = await Promise.all([stats(a), stats(b)]);
    checks.check(
      "both instances hold the hot set in L1",
      before.every((s) => s.l1.entries >= hotCount),
      before.map((s) => s.l1.entries).join("/"),
    );

    await first.stop();
    const restarted = Date.now();
    const second = await lab.redis(first.port);
    const after = await Promise.all(
      [a, b].map((host, i) =>
        eventually(
          () => stats(host),
          (s) => s.coherence.gapsDetected > before[i].coherence.gapsDetected && s.coherence.connected,
          30_000,
          100,
        ),
      ),
    );
    const detectMs = Date.now() - restarted;
    checks.check(
      "every instance detected the gap",
      after.every((s, i) => s.coherence.gapsDetected > before[i].coherence.gapsDetected),
      after.map((s) => s.coherence.gapsDetected).join("/"),
    );
    checks.check(
      "every instance cleared its L1",
      after.every((s) => s.l1.entries === 0),
      after.map((s) => s.l1.entries).join("/"),
    );

    const direct = new Redis(second.url);
    lab.defer(async () => direct.disconnect());
    const inL2 = async () => (await direct.pipeline(keys.map((k) => ["exists", `cachet:v:${k}`])).exec())!.filter(([, n]) => n === 1).length;
    checks.check("the new Redis starts empty", (await inL2()) === 0, await inL2());
    const restoreStarted = Date.now();
    const restored = await job("chaos-snapshot-restore", "restore");
    const restoreMs = Date.now() - restoreStarted;
    const back = await inL2();
    checks.check("snapshot restore succeeded", restored.status === "succeeded", `${restored.status} ${restored.error ?? ""}`);
    checks.check("hot set back in L2", back === hotCount, `${back}/${hotCount}`);
    const reads = await callApi(b.url, "POST", "/api/batch/get", { body: { keys: keys.slice(0, 100) } });
    const fromL2 = reads.body.entries.filter((e: { source?: string }) => e.source === "l2").length;
    checks.check("the other instance reads the restored keys from L2, not the origin", fromL2 === Math.min(100, hotCount), `${fromL2}/100`);
    return `gap detected by 2/2 instances in ${detectMs} ms, L1 cleared; snapshot restored ${back}/${hotCount} hot keys in ${restoreMs} ms`;
  });
}

// -------------------------------------------------------------------------------------------------
// 3. PostgreSQL down

export function postgresDown(options: ScenarioOptions): Promise<ScenarioResult> {
  return run(3, "PostgreSQL down", options, async (lab, checks) => {
    const downMs = options.quick ? 3_000 : 10_000;
    const redis = await lab.redis();
    const postgres = await lab.postgres();
    const env = { REDIS_URL: redis.url, DATABASE_URL: postgres.url, CACHET_DATABASE_PREFIX: "chaos3_", CACHE_DEMO_LATENCY_MS: "0", WARMING_POLL_MS: "200" };
    const host = await lab.host({ services: ["cache-manager", "invalidation", "warming"], env });
    const job = await callApi(host.url, "POST", "/api/warming/jobs", {
      body: { name: "chaos-every-minute", schedule: "* * * * *", source: { type: "keys", keys: ["product:1", "product:2"] } },
    });
    if (job.status !== 200) throw new Error(`job: ${job.status} ${JSON.stringify(job.body)}`);

    let phase: "before" | "down" | "after" = "before";
    let stop = false;
    const acked: string[] = [];
    const byPhase = { before: new Map<number, number>(), down: new Map<number, number>(), after: new Map<number, number>() };
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const sentIn = phase;
        const r = await callApi(host.url, "POST", "/api/invalidate", { body: { keys: [`chaos3:${i}`], reason: "chaos" }, token: "operator" }).catch(() => ({
          status: 0,
          body: null,
        }));
        if (r.status === 202) acked.push(r.body.id);
        const bucket = sentIn === phase ? byPhase[phase] : byPhase.down; // a request spanning a change counts as "down"
        bucket.set(r.status, (bucket.get(r.status) ?? 0) + 1);
        await sleep(20);
      }
    })();
    await sleep(1_000);
    await postgres.down();
    phase = "down";
    const stopped = Date.now();
    await sleep(500);
    const triggerDown = await callApi(host.url, "POST", "/api/warming/trigger", { body: { keys: ["product:3"] } });
    await sleep(Math.max(0, downMs - (Date.now() - stopped)));
    await postgres.up();
    phase = "after";
    const restarted = Date.now();
    await eventually(
      async () => byPhase.after.get(202) ?? 0,
      (n) => n >= 5,
      30_000,
      100,
    );
    const firstAckAfterMs = Date.now() - restarted;
    stop = true;
    await load;

    const statuses = (m: Map<number, number>) => [...m].map(([s, n]) => `${s}×${n}`).join(" ");
    const downOther = [...byPhase.down].filter(([s]) => s !== 503 && s !== 202).reduce((n, [, c]) => n + c, 0);
    checks.check("while down: refused with 503, nothing else", (byPhase.down.get(503) ?? 0) > 0 && downOther === 0, statuses(byPhase.down));
    const records = await Promise.all(
      acked.map((id) =>
        eventually(
          async () => (await callApi(host.url, "GET", `/api/invalidations/${id}`)).body,
          (r) => r?.status === "completed",
          30_000,
          200,
        ),
      ),
    );
    const lost = records.filter((r) => r?.status !== "completed").length;
    checks.check("no acknowledged request lost: every 202 is completed in the audit log", lost === 0, `${acked.length - lost}/${acked.length}`);
    const verify = (await callApi(host.url, "GET", "/api/audit/verify")).body;
    checks.check("audit chain intact", verify?.intact === true, `checked ${verify?.checked}`);
    checks.check("warming refused while down (503)", triggerDown.status === 503, triggerDown.status);
    const tick = await callApi(host.url, "POST", "/internal/warming/tick", {
      body: { at: Date.now() + 61_000 },
      token: null,
      headers: { "x-cachet-internal": TEST_INTERNAL_SECRET },
    });
    const enqueued = tick.body?.enqueued?.length ?? 0;
    checks.check("scheduler tick works again", tick.status === 200 && enqueued === 1, `${tick.status}, ${enqueued} enqueued`);
    const resumedStarted = Date.now();
    const scheduled = enqueued ? await finishedRun(host, tick.body.enqueued[0].runId) : null;
    checks.check("the scheduled run executes after PostgreSQL returns", scheduled?.status === "succeeded", scheduled?.status ?? "none");
    return `${byPhase.down.get(503) ?? 0} refused (503) in ${downMs / 1000} s down, ${acked.length} acknowledged, ${lost} lost; accepting ${firstAckAfterMs} ms after restart; scheduled run done in ${Date.now() - resumedStarted} ms`;
  });
}

async function countKeys(redis: Redis, match: string): Promise<number> {
  let cursor = "0";
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", match, "COUNT", 10_000);
    cursor = next;
    count += keys.length;
  } while (cursor !== "0");
  return count;
}

// -------------------------------------------------------------------------------------------------
// 4. A cache-manager process killed mid-work

export function cacheManagerKilled(options: ScenarioOptions): Promise<ScenarioResult> {
  return run(4, "cache-manager killed mid-work", options, async (lab, checks) => {
    const keyCount = options.quick ? 60_000 : 200_000;
    const redis = await lab.redis();
    const postgres = await lab.postgres();
    const direct = new Redis(redis.url);
    lab.defer(async () => direct.disconnect());
    const env = {
      REDIS_URL: redis.url,
      DATABASE_URL: postgres.url,
      CACHET_DATABASE_PREFIX: "chaos4_",
      CACHE_WRITE_BEHIND_CLAIM_IDLE_MS: "3000",
      INVALIDATION_CONFIRM_THRESHOLD: "1000000000",
    };
    const [c1, c2] = await lab.hosts(2, { services: ["cache-manager"], env: { ...env, CACHE_DEMO_LATENCY_MS: "0" } });
    const inv = await lab.host({ services: ["invalidation"], env: { ...env, CACHET_SERVICE_URLS: `cache-manager=${c2.url}` } });

    // Part 1: pattern invalidation. Keys are written straight into L2 (the cache's own format).
    const envelope = encodeEnvelope({ v: "x", f: Date.now() + 3_600_000 });
    for (let i = 0; i < keyCount; i += 5_000) {
      const batch = direct.pipeline();
      for (let j = i; j < Math.min(keyCount, i + 5_000); j++) batch.set(`cachet:v:chaos4:doomed:${j}`, envelope, "EX", 3600);
      await batch.exec();
    }
    const keepers = direct.pipeline();
    for (let j = 0; j < 500; j++) keepers.set(`cachet:v:chaos4:keep:${j}`, envelope, "EX", 3600);
    await keepers.exec();
    const total = await direct.dbsize();
    const accepted = await callApi(inv.url, "POST", "/api/invalidate/pattern", { body: { pattern: "chaos4:doomed:*", confirm: true, reason: "chaos kill" } });
    if (accepted.status !== 202) throw new Error(`invalidate: ${accepted.status} ${JSON.stringify(accepted.body)}`);
    // Whichever instance took the event: the consumer holding it (its name carries the pid).
    const stream = (await direct.keys("*topic:cache-invalidation"))[0];
    const holder = await eventually(
      async () => ((await direct.xpending(stream, "cache-manager-apply", "-", "+", 10)) as Array<[string, string]>)[0]?.[1],
      (c) => typeof c === "string",
      10_000,
      5,
    );
    const victim = [c1, c2].find((h) => holder?.includes(`-${h.pid}-`));
    const survivor = victim === c1 ? c2 : c1;
    await eventually(
      () => direct.dbsize(),
      (n) => n < total,
      10_000,
      2,
    );
    await victim?.kill();
    const killed = Date.now();
    const remainingAtKill = await countKeys(direct, "cachet:v:chaos4:doomed:*");
    checks.check(
      "killed the instance applying the invalidation, mid-deletion",
      victim !== undefined && remainingAtKill > 0,
      `${remainingAtKill} of ${keyCount} keys left`,
    );
    const record = await eventually(
      async () => (await callApi(inv.url, "GET", `/api/invalidations/${accepted.body.id}`)).body,
      (r) => r?.status === "completed",
      90_000,
      250,
    );
    const takeoverMs = Date.now() - killed;
    const left = await countKeys(direct, "cachet:v:chaos4:doomed:*");
    const kept = (await direct.pipeline(Array.from({ length: 500 }, (_, j) => ["exists", `cachet:v:chaos4:keep:${j}`])).exec())!.filter(
      ([, n]) => n === 1,
    ).length;
    checks.check("the invalidation completed on another instance", record?.status === "completed", `${record?.status} after ${takeoverMs} ms`);
    checks.check("every matching key deleted, none left", left === 0, `${left} left`);
    checks.check("keys outside the pattern untouched", kept === 500, `${kept}/500`);

    // Part 2: write-behind. A slow origin keeps the victim's writes in flight when it dies.
    const slow = await lab.host({ services: ["cache-manager"], env: { ...env, CACHE_DEMO_LATENCY_MS: "4000" } });
    const ids = Array.from({ length: options.quick ? 30 : 100 }, (_, i) => 5000 + i);
    const acks = await Promise.all(ids.map((id) => put(slow, `product:${id}`, { value: { name: `chaos-wb-${id}` }, writeMode: "write-behind" })));
    const acknowledged = ids.filter((_, i) => acks[i].status === 200);
    await sleep(800);
    await slow.kill();
    const slowKilled = Date.now();
    const client = new pg.Client({ connectionString: schemaUrlFor(postgres.url, "chaos4_origins") });
    await client.connect();
    lab.defer(() => client.end());
    const names = async () =>
      (await client.query("SELECT id, name FROM products WHERE id = ANY($1)", [acknowledged])).rows as Array<{ id: number; name: string }>;
    const rows = await eventually(names, (r) => r.filter((row) => row.name === `chaos-wb-${row.id}`).length === acknowledged.length, 60_000, 250);
    const applied = rows.filter((row) => row.name === `chaos-wb-${row.id}`).length;
    const queue = await eventually(
      async () => (await stats(survivor)).writeBehind,
      (wb) => wb?.depth === 0,
      20_000,
      200,
    );
    checks.check(
      "every acknowledged write-behind write applied after the kill",
      applied === acknowledged.length && acknowledged.length === ids.length,
      `${applied}/${acknowledged.length}`,
    );
    checks.check(
      "write-behind queue drained, nothing dead-lettered",
      queue?.depth === 0 && queue?.deadLettered === 0,
      JSON.stringify({ depth: queue?.depth, dead: queue?.deadLettered }),
    );
    return `pattern (${keyCount} keys): killed with ${remainingAtKill} left, completed by the survivor ${takeoverMs} ms later, 0 left; write-behind: ${applied}/${acknowledged.length} applied ${Date.now() - slowKilled} ms after the kill`;
  });
}

// -------------------------------------------------------------------------------------------------
// 5. 200 ms added latency on L2

export function l2Latency(options: ScenarioOptions): Promise<ScenarioResult> {
  return run(5, "200 ms added latency on L2", options, async (lab, checks) => {
    const softMs = 250;
    const redis = await lab.redis();
    const proxy = await lab.proxy(redis.port);
    const host = await lab.host({
      services: ["cache-manager"],
      env: {
        REDIS_URL: proxy.url("redis"),
        CACHE_DEFAULT_TTL_MS: "4000",
        CACHE_GRACE_MS: "120000",
        CACHE_DEMO_LATENCY_MS: "0",
        CACHE_SOFT_TIMEOUT_MS: String(softMs),
      },
    });
    const keys = Array.from({ length: options.quick ? 40 : 200 }, (_, i) => `product:${i + 1}`);
    for (const key of keys) await get(host, key);
    await sleep(4_600); // past their freshness (4 s ± 10 %), well inside the grace period
    proxy.setDelay(200);
    const delayedAt = Date.now();
    const timed = async (key: string) => {
      const started = performance.now();
      const r = await get(host, key);
      return { ms: performance.now() - started, r };
    };
    const control = await timed("product:9999");
    checks.check("the latency is in effect: a miss takes ≥ 200 ms", control.ms >= 200, `${Math.round(control.ms)} ms`);
    const reads = [];
    for (const key of keys) reads.push(await timed(key));
    const latencies = reads.map((x) => x.ms);
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    const staleServed = reads.filter((x) => x.r.status === 200 && x.r.body.stale === true).length;
    checks.check("every stale key answered with its stale value", staleServed === keys.length, `${staleServed}/${keys.length}`);
    checks.check(
      `p95 within the soft-timeout bound (${softMs} ms)`,
      p95 <= softMs,
      `p50 ${Math.round(p50)} ms, p95 ${Math.round(p95)} ms, max ${Math.round(Math.max(...latencies))} ms`,
    );
    // Each stale read started a background refresh: L2 ends up holding a fresh envelope for every key.
    const direct = new Redis(redis.url);
    lab.defer(async () => direct.disconnect());
    const refreshed = await eventually(
      async () => (await direct.mget(keys.map((k) => `cachet:v:${k}`))).filter((raw) => raw !== null && JSON.parse(raw).f > delayedAt).length,
      (n) => n === keys.length,
      30_000,
      250,
    );
    checks.check("fresh values stored in the background despite the latency", refreshed === keys.length, `${refreshed}/${keys.length} refreshed in L2`);
    return `stale reads p50 ${Math.round(p50)} ms, p95 ${Math.round(p95)} ms (bound ${softMs} ms) with a miss at ${Math.round(control.ms)} ms; ${staleServed}/${keys.length} served stale`;
  });
}

/**
 * 6. Consistency histories (`history-run.ts`, checked by `history.ts`): each history runs readers
 * and changers on two hosts under every fault, and fails on any read that began after an
 * acknowledged change and returned an older value beyond the other-instance bound.
 */
export function consistencyHistories(options: ScenarioOptions): Promise<ScenarioResult> {
  return run(6, "consistency histories under faults", options, async (_lab, checks, { quick, log }) => {
    const seeds = quick ? [22] : [1, 2, 3, 4];
    const totals = { ops: 0, reads: 0, changes: 0, violations: 0 };
    let boundMs = 0;
    for (const seed of seeds) {
      const lab = new Lab(); // one set of processes per history
      try {
        const h = await recordHistory(lab, {
          durationMs: quick ? 8_000 : 30_000,
          groups: quick ? 2 : 3,
          tagGroups: quick ? 1 : 2,
          keysPerGroup: quick ? 4 : 6,
          readers: quick ? 6 : 10,
          faults: quick
            ? ["slow-origin", "follow-cut", "redis-cut", "process-kill"]
            : ["slow-origin", "follow-cut", "redis-cut", "slow-origin", "follow-cut", "redis-cut", "process-kill"],
          seed,
          originDelayMs: 100,
          maxOutageMs: 1_000,
          log,
        });
        boundMs = h.boundMs;
        totals.ops += h.result.ops;
        totals.reads += h.result.reads;
        totals.changes += h.result.changes;
        totals.violations += h.result.violations.length;
        checks.check(
          `history ${seed} exercised the model`,
          h.result.changes >= 10 && h.result.valuedReads >= 50,
          `${h.result.changes} changes, ${h.result.valuedReads} valued reads`,
        );
        checks.check(
          `history ${seed}: no stale read past the bound`,
          h.result.violations.length === 0,
          h.result.violations
            .slice(0, 3)
            .map((v) => describeViolation(v, h.t0))
            .join("\n") || `${h.result.ops} ops; faults ${h.faultsRun.join(", ")}`,
        );
      } finally {
        await lab.close();
      }
    }
    return `${seeds.length} histories checked, ${totals.ops} ops (${totals.reads} reads, ${totals.changes} acknowledged changes), ${totals.violations} violations (other-instance bound ${boundMs} ms)`;
  });
}

export const SCENARIOS = [redisUnreachable, redisRestartedEmpty, postgresDown, cacheManagerKilled, l2Latency, consistencyHistories];
