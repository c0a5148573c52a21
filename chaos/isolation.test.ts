/**
 * Tenant isolation, driven by the manifest: two namespace-limited tenants (each an operator and a
 * viewer token) and an admin against one host process serving every service. Every exposed
 * endpoint has an entry below that exercises it as a tenant, reading and writing, inside its own
 * namespace and against the other tenant's; an endpoint without an entry fails the test.
 *
 * Each tenant's namespace, token names, values, tags, reasons and job names carry a random mark,
 * so "no response to one tenant contains the other's data" is checked by looking for the other's
 * mark in every response body (and WebSocket message). Per-key counts are checked where they are
 * reported (explorer `scanned`, preview `scanned`/estimate). Writes: the other tenant's values,
 * jobs and runs are read back by the admin after each tenant's turn and must be unchanged.
 */
import WebSocket from "ws";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { eventually } from "../infra/node-host/testing/api";
import { TEST_TOKENS } from "../infra/node-host/testing/tokens";
import { Lab, type Host } from "./harness";
import { endpointId, exposedEndpoints, loadManifest } from "./requests";

interface Tenant {
  label: "A" | "B";
  mark: string;
  ns: string;
  operator: string;
  viewer: string;
  /** Filled while seeding. */
  invalidationId?: string;
  jobId?: number;
  runId?: number;
}

const newTenant = (label: "A" | "B"): Tenant => {
  const mark = `zq${label.toLowerCase()}${randomBytes(5).toString("hex")}`;
  return { label, mark, ns: `${mark}:`, operator: `op-${mark}-${randomBytes(12).toString("hex")}`, viewer: `vw-${mark}-${randomBytes(12).toString("hex")}` };
};
const A = newTenant("A");
const B = newTenant("B");
const tokenConfig = JSON.stringify(
  [A, B].flatMap((t) => [
    { name: `operator-${t.mark}`, role: "operator", token: t.operator, namespaces: [t.ns] },
    { name: `viewer-${t.mark}`, role: "viewer", token: t.viewer, namespaces: [t.ns] },
  ]),
);

interface Answer {
  status: number;
  text: string;
  body: any;
  /** What the request itself sent (path and body): a refusal may quote it back. */
  sent: string;
}

const lab = new Lab();
let host: Host;

async function call(token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(host.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (the dashboard, /metrics)
  }
  return { status: response.status, text, body: parsed, sent: `${decodeURIComponent(path)} ${JSON.stringify(body ?? null)}` };
}
const admin = (method: string, path: string, body?: unknown) => call(TEST_TOKENS.admin, method, path, body);

/** The first message of a WebSocket stream, as text. */
function firstMessage(path: string, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(host.url.replace(/^http/, "ws") + path, { headers: { authorization: `Bearer ${token}` } });
    const timer = setTimeout(() => (socket.terminate(), reject(new Error(`no message on ${path} in 15 s`))), 15_000);
    socket.once("message", (data) => {
      clearTimeout(timer);
      socket.close();
      resolve({ status: 101, text: String(data), body: JSON.parse(String(data)), sent: path });
    });
    socket.once(
      "unexpected-response",
      (_req, res) => (clearTimeout(timer), res.resume(), resolve({ status: res.statusCode ?? 0, text: "", body: null, sent: path })),
    );
    socket.once("error", (error) => (clearTimeout(timer), reject(error)));
  });
}

/**
 * How each exposed endpoint is exercised by tenant `t` (its operator and viewer) with `o` the
 * other tenant. Returns every answer; `expect`s inside check statuses where they say something.
 */
type Exercise = (t: Tenant, o: Tenant) => Promise<Answer[]>;

const EXERCISES: Record<string, Exercise> = {
  "cache-manager.get": async (t, o) => {
    const own = await call(t.viewer, "GET", `/api/cache/${t.ns}k1`);
    expect(own.status).toBe(200);
    const other = await call(t.viewer, "GET", `/api/cache/${o.ns}k1`);
    expect(other.status).toBe(403);
    return [own, other];
  },
  "cache-manager.batchGet": async (t, o) => [
    await call(t.viewer, "POST", "/api/batch/get", { keys: [`${t.ns}k1`, `${t.ns}k2`] }),
    expectStatus(403, await call(t.viewer, "POST", "/api/batch/get", { keys: [`${t.ns}k1`, `${o.ns}k1`] })),
  ],
  "cache-manager.batchSet": async (t, o) => [
    expectStatus(200, await call(t.operator, "POST", "/api/batch/set", { entries: [{ key: `${t.ns}scratch`, value: 1 }] })),
    expectStatus(403, await call(t.operator, "POST", "/api/batch/set", { entries: [{ key: `${o.ns}k1`, value: "overwritten" }] })),
  ],
  "cache-manager.batchDelete": async (t, o) => [
    expectStatus(200, await call(t.operator, "POST", "/api/batch/delete", { keys: [`${t.ns}scratch`] })),
    expectStatus(403, await call(t.operator, "POST", "/api/batch/delete", { keys: [`${o.ns}k1`] })),
  ],
  "cache-manager.set": async (t, o) => [
    expectStatus(200, await call(t.operator, "PUT", `/api/cache/${t.ns}scratch`, { value: 2 })),
    expectStatus(403, await call(t.operator, "PUT", `/api/cache/${o.ns}k1`, { value: "overwritten" })),
  ],
  "cache-manager.remove": async (t, o) => [
    await call(t.operator, "DELETE", `/api/cache/${t.ns}scratch`),
    expectStatus(403, await call(t.operator, "DELETE", `/api/cache/${o.ns}k1`)),
  ],
  "cache-manager.keyDetail": async (t, o) => [
    expectStatus(200, await call(t.viewer, "GET", `/api/keys/${t.ns}k1`)),
    expectStatus(403, await call(t.viewer, "GET", `/api/keys/${o.ns}k1`)),
  ],
  "cache-manager.listKeys": async (t, o) => {
    const answers: Answer[] = [];
    for (const match of ["*", `${o.ns}*`, "zq*", "*k1"]) {
      const page = await call(t.viewer, "GET", `/api/keys?count=1000&match=${encodeURIComponent(match)}`);
      expect(page.status).toBe(200);
      // The count of examined keys would count the other tenant's keys: only shown keys are counted.
      expect(page.body.scanned).toBe(page.body.keys.length);
      answers.push(page);
    }
    return answers;
  },
  "cache-manager.listOrigins": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/origins"))],
  "cache-manager.listTokens": async (t) => [expectStatus(403, await call(t.operator, "GET", "/api/auth/tokens"))],
  "cache-manager.putOrigin": async (t, o) => [
    expectStatus(403, await call(t.operator, "PUT", `/api/origins/${encodeURIComponent(o.ns)}`, { kind: "http", url: "http://203.0.113.9/{id}" })),
  ],
  "cache-manager.removeOrigin": async (t, o) => [expectStatus(403, await call(t.operator, "DELETE", `/api/origins/${encodeURIComponent(o.ns)}`))],
  "cache-manager.flush": async (t) => [expectStatus(403, await call(t.operator, "POST", "/api/flush", { confirm: true }))],
  // L3's contents and key ids are the admin's.
  "cache-manager.l3Report": async (t) => [expectStatus(403, await call(t.operator, "GET", "/api/l3"))],
  // The cache policy is the admin's: a tenant can neither see nor change it, for its namespace or another's.
  "cache-manager.getCachePolicy": async (t) => [expectStatus(403, await call(t.operator, "GET", "/api/cache-policy"))],
  "cache-manager.putL1Policy": async (t) => [
    expectStatus(403, await call(t.operator, "PUT", "/api/cache-policy/l1", { policy: "lru", maxEntries: 10, maxBytes: 4096 })),
  ],
  "cache-manager.resetL1Policy": async (t) => [expectStatus(403, await call(t.operator, "DELETE", "/api/cache-policy/l1"))],
  "cache-manager.putNamespacePolicy": async (t, o) => [
    expectStatus(403, await call(t.operator, "PUT", `/api/cache-policy/namespaces/${encodeURIComponent(t.ns)}`, { defaultTtlMs: 1_000 })),
    expectStatus(403, await call(t.operator, "PUT", `/api/cache-policy/namespaces/${encodeURIComponent(o.ns)}`, { defaultTtlMs: 1_000 })),
  ],
  "cache-manager.removeNamespacePolicy": async (t, o) => [
    expectStatus(403, await call(t.operator, "DELETE", `/api/cache-policy/namespaces/${encodeURIComponent(o.ns)}`)),
  ],
  "cache-manager.listPolicyAudit": async (t) => [expectStatus(403, await call(t.viewer, "GET", "/api/cache-policy/audit"))],
  "cache-manager.runLab": async (t) => [expectStatus(403, await call(t.operator, "POST", "/api/lab/stampede", {}))],
  "cache-manager.stats": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/stats"))],
  "cache-manager.whoami": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/auth/whoami"))],
  "dashboard.dashboard": async (t) => [
    expectStatus(200, await call(t.viewer, "GET", "/explorer")),
    expectStatus(404, await call(t.viewer, "GET", "/api/no-such-endpoint")),
  ],
  "dashboard.openapi": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/openapi.json"))],
  "invalidation.get": async (t, o) => [
    expectStatus(200, await call(t.viewer, "GET", `/api/invalidations/${t.invalidationId}`)),
    // Another tenant's request is "not found": its existence is not revealed either.
    expectStatus(404, await call(t.viewer, "GET", `/api/invalidations/${o.invalidationId}`)),
  ],
  "invalidation.invalidateKeys": async (t, o) => [
    expectStatus(202, await call(t.operator, "POST", "/api/invalidate", { keys: [`${t.ns}scratch`], reason: `reason-${t.mark}` })),
    expectStatus(403, await call(t.operator, "POST", "/api/invalidate", { keys: [`${o.ns}k1`] })),
  ],
  "invalidation.invalidatePattern": async (t, o) => [
    expectStatus(202, await call(t.operator, "POST", "/api/invalidate/pattern", { pattern: `${t.ns}scratch*`, reason: `reason-${t.mark}` })),
    expectStatus(403, await call(t.operator, "POST", "/api/invalidate/pattern", { pattern: `${o.ns}*` })),
    expectStatus(403, await call(t.operator, "POST", "/api/invalidate/pattern", { pattern: "zq*" })),
  ],
  "invalidation.invalidateTags": async (t, o) => [expectStatus(403, await call(t.operator, "POST", "/api/invalidate/tags", { tags: [`tag-${o.mark}`] }))],
  "invalidation.list": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/invalidations?limit=200"))],
  "invalidation.preview": async (t, o) => {
    const own = expectStatus(200, await call(t.viewer, "GET", `/api/invalidate/preview?pattern=${encodeURIComponent(`${t.ns}*`)}`));
    // Neither how many keys were examined nor the keyspace's size: both count the other tenant.
    expect(own.body.scanned).toBe(own.body.matched);
    expect(own.body.estimate).toBeNull();
    return [own, expectStatus(403, await call(t.viewer, "GET", `/api/invalidate/preview?pattern=${encodeURIComponent(`${o.ns}*`)}`))];
  },
  "invalidation.verify": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/audit/verify"))],
  "monitoring.getRules": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/alerts/rules"))],
  "monitoring.putRules": async (t) => [expectStatus(403, await call(t.operator, "PUT", "/api/alerts/rules", { rules: [] }))],
  "monitoring.history": async (t) => [await call(t.viewer, "GET", "/api/metrics/history?window=5m")],
  "monitoring.instances": async (t) => [await call(t.viewer, "GET", "/api/instances")],
  "monitoring.listAlerts": async (t) => [await call(t.viewer, "GET", "/api/alerts")],
  "monitoring.metrics": async (t) => [await call(t.viewer, "GET", "/api/metrics")],
  "monitoring.topKeys": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/metrics/top-keys"))],
  "monitoring.platformHealth": async (t) => [await call(t.viewer, "GET", "/api/health")],
  "monitoring.prometheusMetrics": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/metrics"))],
  "monitoring.live": async (t) => [await firstMessage("/api/metrics/live", t.viewer)],
  "warming.listJobs": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/warming/jobs?limit=500"))],
  "warming.getJob": async (t, o) => [
    expectStatus(200, await call(t.viewer, "GET", `/api/warming/jobs/${t.jobId}`)),
    expectStatus(403, await call(t.viewer, "GET", `/api/warming/jobs/${o.jobId}`)),
  ],
  "warming.createJob": async (t, o) => {
    const own = expectStatus(
      200,
      await call(t.operator, "POST", "/api/warming/jobs", { name: `extra-${t.mark}`, namespace: t.ns, source: { type: "keys", keys: [`${t.ns}k1`] } }),
    );
    const outside = expectStatus(
      403,
      await call(t.operator, "POST", "/api/warming/jobs", { name: `steal-${t.mark}`, namespace: o.ns, source: { type: "keys", keys: [`${o.ns}k1`] } }),
    );
    // Restores of the snapshots named by id (the database is fresh: the two tenants' saves are
    // ids 1 and 2), inside the own namespace: the own one is restored, the other tenant's run
    // fails and writes nothing (checked with the other's data afterwards).
    const answers = [own, outside];
    const outcomes: string[] = [];
    for (const snapshotId of [1, 2]) {
      const restore = expectStatus(
        200,
        await call(t.operator, "POST", "/api/warming/jobs", {
          name: `restore-${snapshotId}-${t.mark}`,
          namespace: t.ns,
          source: { type: "snapshot", action: "restore", snapshotId },
        }),
      );
      const run = expectStatus(200, await call(t.operator, "POST", "/api/warming/trigger", { jobId: restore.body.id }));
      const done = await eventually(
        () => call(t.viewer, "GET", `/api/warming/runs/${run.body.runId}`),
        (r) => ["succeeded", "failed", "cancelled"].includes(r.body?.status),
        30_000,
        200,
      );
      outcomes.push(done.body.status === "failed" ? `failed: ${done.body.error}` : done.body.status);
      answers.push(restore, run, done);
    }
    expect(outcomes.sort()).toEqual([expect.stringMatching(/^failed: snapshot \d is not a snapshot of this run's namespace/), "succeeded"]);
    return answers;
  },
  "warming.updateJob": async (t, o) => [
    expectStatus(403, await call(t.operator, "PUT", `/api/warming/jobs/${o.jobId}`, { namespace: t.ns, source: { type: "keys", keys: [`${t.ns}k1`] } })),
  ],
  "warming.deleteJob": async (t, o) => [expectStatus(403, await call(t.operator, "DELETE", `/api/warming/jobs/${o.jobId}`))],
  "warming.trigger": async (t, o) => [
    expectStatus(200, await call(t.operator, "POST", "/api/warming/trigger", { jobId: t.jobId })),
    expectStatus(403, await call(t.operator, "POST", "/api/warming/trigger", { jobId: o.jobId })),
    expectStatus(403, await call(t.operator, "POST", "/api/warming/trigger", { keys: [`${o.ns}k1`] })),
  ],
  "warming.listRuns": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/warming/runs?limit=200"))],
  "warming.getRun": async (t, o) => [
    expectStatus(200, await call(t.viewer, "GET", `/api/warming/runs/${t.runId}`)),
    expectStatus(403, await call(t.viewer, "GET", `/api/warming/runs/${o.runId}`)),
  ],
  "warming.cancelRun": async (t, o) => [expectStatus(403, await call(t.operator, "POST", `/api/warming/runs/${o.runId}/cancel`))],
  "warming.schedulePreview": async (t) => [expectStatus(200, await call(t.viewer, "GET", "/api/warming/schedule-preview?cron=0%204%20*%20*%20*"))],
};

/**
 * The other tenant's mark in `answer`, apart from the names the request itself sent (a 403 that
 * quotes the key it refused tells the caller nothing new); undefined when there is none.
 */
function leakIn(answer: Answer, mark: string): string | undefined {
  let text = answer.text;
  for (const sent of answer.sent.match(new RegExp(`[\\w:*.-]*${mark}[\\w:*.-]*`, "g")) ?? []) text = text.replaceAll(sent, "");
  const at = text.indexOf(mark);
  return at === -1 ? undefined : `…${text.slice(Math.max(0, at - 80), at + 40)}…`;
}

function expectStatus(status: number, answer: Answer): Answer {
  expect(answer.status, answer.text.slice(0, 300)).toBe(status);
  return answer;
}

/** Each tenant's data as it should stay: values, origin, jobs, a queued run, a snapshot, invalidations. */
async function seed(t: Tenant): Promise<void> {
  const entries = Array.from({ length: 20 }, (_, i) => ({
    key: `${t.ns}k${i}`,
    value: { owner: t.mark, secret: `value-${t.mark}-${i}` },
    tags: [`tag-${t.mark}`],
  }));
  expectStatus(200, await call(t.operator, "POST", "/api/batch/set", { entries }));
  for (let i = 0; i < 5; i++) await call(t.viewer, "GET", `/api/cache/${t.ns}k1`); // a hot key
  const job = expectStatus(
    200,
    await call(t.operator, "POST", "/api/warming/jobs", { name: `job-${t.mark}`, namespace: t.ns, source: { type: "keys", keys: [`${t.ns}k1`] } }),
  );
  t.jobId = job.body.id;
  const save = expectStatus(
    200,
    await call(t.operator, "POST", "/api/warming/jobs", { name: `snap-${t.mark}`, namespace: t.ns, source: { type: "snapshot", action: "save", topN: 50 } }),
  );
  const saved = expectStatus(200, await call(t.operator, "POST", "/api/warming/trigger", { jobId: save.body.id }));
  t.runId = saved.body.runId;
  await eventually(
    () => call(t.viewer, "GET", `/api/warming/runs/${t.runId}`),
    (r) => r.body?.status === "succeeded",
    30_000,
    200,
  );
  // After the snapshot, the value changes: a restore of the snapshot would bring the old one back.
  expectStatus(200, await call(t.operator, "PUT", `/api/cache/${t.ns}k1`, { value: { owner: t.mark, secret: `current-${t.mark}` }, tags: [`tag-${t.mark}`] }));
  const accepted = expectStatus(202, await call(t.operator, "POST", "/api/invalidate", { keys: [`${t.ns}gone`], reason: `reason-${t.mark}` }));
  t.invalidationId = accepted.body.id;
  expectStatus(202, await call(t.operator, "POST", "/api/invalidate/pattern", { pattern: `${t.ns}pat*`, reason: `reason-${t.mark}` }));
  expectStatus(
    200,
    await admin("PUT", `/api/origins/${encodeURIComponent(t.ns)}`, {
      kind: "http",
      url: `http://203.0.113.7/${t.mark}/{id}`,
      headers: { authorization: `Bearer hdr-${t.mark}` },
    }),
  );
}

/** What the admin sees of a tenant's data: must not change while the other tenant acts. */
async function dataOf(t: Tenant): Promise<unknown> {
  const values = await admin("POST", "/api/batch/get", { keys: Array.from({ length: 20 }, (_, i) => `${t.ns}k${i}`) });
  const jobs = await admin("GET", "/api/warming/jobs?limit=500");
  const run = await admin("GET", `/api/warming/runs/${t.runId}`);
  return {
    values: values.body.entries.map((e: { key: string; found: boolean; value: unknown }) => [e.key, e.found, e.value]),
    jobs: jobs.body.jobs
      .filter((j: { name: string }) => j.name.includes(t.mark))
      .map((j: { id: number; name: string; namespace: string }) => [j.id, j.name, j.namespace]),
    run: [run.body.status, run.body.cancelRequested],
  };
}

beforeAll(async () => {
  const redis = await lab.redis();
  host = await lab.host({ env: { REDIS_URL: redis.url, CACHE_DEMO_LATENCY_MS: "0", CACHE_TOKENS: tokenConfig, WARMING_POLL_MS: "200" } });
  await seed(A);
  await seed(B);
}, 240_000);
afterAll(() => lab.close(), 60_000);

describe("tenant isolation", () => {
  const exposed = exposedEndpoints(loadManifest()).map(endpointId).sort();

  test("every exposed endpoint has an isolation exercise, and every exercise an endpoint", () => {
    expect(exposed.filter((id) => !(id in EXERCISES))).toEqual([]);
    expect(Object.keys(EXERCISES).filter((id) => !exposed.includes(id))).toEqual([]);
  });

  test.each([
    { t: A, o: B },
    { t: B, o: A },
  ])(
    "tenant $t.label: no response contains the other tenant's data, and no write changes it",
    async ({ t, o }) => {
      const before = await dataOf(o);
      const leaks: string[] = [];
      let answers = 0;
      for (const id of exposed) {
        for (const answer of await EXERCISES[id](t, o)) {
          answers++;
          const leak = leakIn(answer, o.mark);
          if (leak) leaks.push(`${id} (${answer.status}): ${leak}`);
        }
      }
      expect(leaks).toEqual([]);
      expect(answers).toBeGreaterThan(exposed.length);
      expect(await dataOf(o)).toEqual(before);
      // The tenant's own data is visible to it (the filters are not simply "show nothing").
      const own = await call(t.viewer, "GET", "/api/invalidations?limit=200");
      expect(own.text).toContain(t.mark);
      const ownJobs = await call(t.viewer, "GET", "/api/warming/jobs?limit=500");
      expect(ownJobs.text).toContain(`job-${t.mark}`);
    },
    300_000,
  );

  test("/metrics of a host serving every service (warming gauges included) passes `promtool check metrics`", async () => {
    const text = await (await fetch(`${host.url}/metrics`)).text();
    expect(text).toMatch(/^cache_warming_running_cluster[ {]/m);
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.error, "promtool (Debian package prometheus) must be installed").toBeUndefined();
    expect(`${check.stdout}${check.stderr}`.trim()).toBe("");
    expect(check.status).toBe(0);
  });

  test("origin header values are never shown, not even to the admin", async () => {
    const listed = await admin("GET", "/api/origins");
    expect(listed.text).not.toContain(`hdr-${A.mark}`);
    expect(listed.text).not.toContain(`hdr-${B.mark}`);
  });
});
