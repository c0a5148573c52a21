/**
 * Tracing end to end: two host processes export over OTLP/HTTP (OpenTelemetry's own exporter) to
 * a local receiver, and the test reads the traces it got. A pattern invalidation is one trace from
 * the request in the invalidation process, through the topic, to cache-manager applying it in the
 * other process, and back to the audit row's completion; a read-through shows the cache's tiers
 * and the Redis and SQL calls under the request. And with no OTLP endpoint nothing is exported.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startHostProcess, type HostProcess } from "../testing/hosts.ts";
import { startPostgresServer, type TestPostgresServer } from "../testing/postgres.ts";
import { bearer, TEST_TOKENS } from "../testing/tokens.ts";

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  instance: string;
  attributes: Record<string, unknown>;
}

/** OTLP/HTTP JSON: resourceSpans → scopeSpans → spans, attributes as {key, value: {stringValue|intValue|boolValue}}. */
function flatten(body: { resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] }): ReceivedSpan[] {
  return body.resourceSpans.flatMap((rs) => {
    const resource = attributes(rs.resource.attributes);
    return rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId || undefined,
        name: s.name,
        kind: s.kind,
        instance: String(resource["service.instance.id"]),
        attributes: attributes(s.attributes ?? []),
      })),
    );
  });
}
interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
}
const attributes = (list: OtlpAttribute[]) => Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]]));

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;

let receiver: Server;
let endpoint: string;
const spans: ReceivedSpan[] = [];
let postgres: TestPostgresServer;
let front: HostProcess; // invalidation, warming, monitoring
let cache: HostProcess; // cache-manager

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/v1/traces" && req.headers["content-type"]?.includes("json")) spans.push(...flatten(JSON.parse(Buffer.concat(chunks).toString())));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  postgres = await startPostgresServer();
  const env = {
    DATABASE_URL: postgres.url,
    CACHET_KEY_PREFIX: `trace${process.pid}:`,
    CACHE_DEMO_LATENCY_MS: "0",
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_BSP_SCHEDULE_DELAY: "100",
  };
  cache = await startHostProcess({ services: ["cache-manager"], env });
  front = await startHostProcess({ services: ["invalidation", "warming", "monitoring"], env: { ...env, CACHET_SERVICE_URLS: `cache-manager=${cache.url}` } });
}, 240_000);

afterAll(async () => {
  await Promise.all([front?.stop(), cache?.stop()]);
  await postgres?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

const traceOf = (traceId: string) => spans.filter((s) => s.traceId === traceId);
const byId = (trace: ReceivedSpan[], id?: string) => trace.find((s) => s.spanId === id);
/** True when `span` descends from `ancestor` through parent links inside the trace. */
function descends(trace: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  for (let s: ReceivedSpan | undefined = span; s; s = byId(trace, s.parentSpanId)) if (s === ancestor) return true;
  return false;
}

describe("with OTEL_EXPORTER_OTLP_ENDPOINT set", () => {
  test("a pattern invalidation is one trace: request → publish → cache-manager applies it in the other process → audit completion", async () => {
    const traceparent = `00-${"ab".repeat(16)}-${"cd".repeat(8)}-01`;
    await fetch(`${cache.url}/api/cache/trace${process.pid}:a`, {
      method: "PUT",
      headers: { ...bearer(TEST_TOKENS.admin), "content-type": "application/json" },
      body: '{"value":1}',
    });
    const accepted = await fetch(`${front.url}/api/invalidate/pattern`, {
      method: "POST",
      headers: { ...bearer(TEST_TOKENS.operator), "content-type": "application/json", traceparent },
      body: JSON.stringify({ pattern: `trace${process.pid}:*`, reason: "tracing test" }),
    });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${front.url}/api/invalidations/${id}`, { headers: bearer(TEST_TOKENS.viewer) })).json()) as { status: string }).status,
        { timeout: 15_000 },
      )
      .toBe("completed");

    const traceId = "ab".repeat(16); // the caller's traceparent: the platform joined the caller's trace
    // each process exports its spans in its own batches: wait for all four hops to arrive
    const hops = ["publish cache-invalidation", "process cache-invalidation", "publish cache-invalidation-outcomes", "process cache-invalidation-outcomes"];
    await expect.poll(() => hops.filter((name) => traceOf(traceId).some((s) => s.name === name)), { timeout: 20_000 }).toEqual(hops);
    const trace = traceOf(traceId);
    const request = trace.find((s) => s.kind === SERVER && s.name === "POST /api/invalidate/pattern")!;
    expect(request.parentSpanId, "parented by the caller's span").toBe("cd".repeat(8));
    const publish = trace.find((s) => s.kind === PRODUCER && s.name === "publish cache-invalidation")!;
    const apply = trace.find((s) => s.kind === CONSUMER && s.name === "process cache-invalidation")!;
    const outcome = trace.find((s) => s.kind === PRODUCER && s.name === "publish cache-invalidation-outcomes")!;
    const record = trace.find((s) => s.kind === CONSUMER && s.name === "process cache-invalidation-outcomes")!;
    expect([publish, apply, outcome, record].every(Boolean)).toBe(true);
    // where each ran: the request and the audit in the front process, the apply in cache-manager's
    expect(new Set([request.instance, publish.instance, record.instance]).size).toBe(1);
    expect(apply.instance).not.toBe(request.instance);
    // parent links intact, all the way down
    expect(descends(trace, publish, request)).toBe(true);
    expect(apply.parentSpanId).toBe(publish.spanId);
    expect(descends(trace, outcome, apply)).toBe(true);
    expect(record.parentSpanId).toBe(outcome.spanId);
    // the work under each: Redis commands under the apply, the audit row's SQL under the record
    expect(trace.some((s) => s.name.startsWith("redis ") && descends(trace, s, apply))).toBe(true);
    expect(trace.some((s) => s.name.startsWith("sql ") && descends(trace, s, record))).toBe(true);
    expect(
      trace.some((s) => s.name.startsWith("sql INSERT") && descends(trace, s, request)),
      "the request's audit row",
    ).toBe(true);
  });

  test("a read-through shows the tiers it consulted (L1, L2, origin) with their Redis and SQL calls; an L1 hit shows L1 only", async () => {
    const key = `product:${1000 + (process.pid % 5000)}`;
    const read = async () => {
      const response = await fetch(`${cache.url}/api/cache/${key}`, { headers: bearer(TEST_TOKENS.viewer) });
      return ((await response.json()) as { source: string }).source;
    };
    // the demo origin's keys live in the L2 every test file shares: start from a miss
    expect((await fetch(`${cache.url}/api/cache/${key}`, { method: "DELETE", headers: bearer(TEST_TOKENS.admin) })).status).toBe(200);
    expect(await read()).toBe("origin");
    const isRead = (s: ReceivedSpan) => s.kind === SERVER && s.attributes["url.path"] === `/api/cache/${key}` && s.name.startsWith("GET");
    await expect.poll(() => spans.some(isRead), { timeout: 10_000 }).toBe(true);
    const request = spans.find(isRead)!;
    expect(request.name).toBe("GET /api/cache/:key");
    expect(request.attributes["http.response.status_code"]).toBe(200);
    const trace = traceOf(request.traceId);
    // the tiers, in order, under the read: L1 missed, L2 missed (the fill lease taken), the origin loaded
    const get = trace.find((s) => s.name === "cache.get")!;
    expect(descends(trace, get, request)).toBe(true);
    expect(get.attributes).toMatchObject({ "cache.namespace": "product:", "cache.source": "origin" });
    const tier = (name: string) => trace.find((s) => s.name === name && descends(trace, s, get))!;
    expect(tier("cache.l1").attributes["cache.hit"]).toBe(false);
    expect(tier("cache.l2").attributes).toMatchObject({ "cache.hit": false, "cache.l2.read": "granted" });
    expect(tier("cache.origin").attributes["cache.filled_l2"]).toBe(true);
    expect(
      trace.some((s) => s.name.startsWith("redis ") && descends(trace, s, tier("cache.l2"))),
      "the L2 read's Redis call",
    ).toBe(true);
    expect(
      trace.some((s) => s.name === "sql SELECT" && descends(trace, s, tier("cache.origin"))),
      "the origin's query",
    ).toBe(true);

    expect(await read()).toBe("l1");
    await expect.poll(() => spans.filter(isRead).length, { timeout: 10_000 }).toBe(2);
    const second = spans.filter(isRead)[1];
    await expect.poll(() => traceOf(second.traceId).some((s) => s.name === "cache.get"), { timeout: 10_000 }).toBe(true);
    const hit = traceOf(second.traceId);
    expect(hit.find((s) => s.name === "cache.l1")?.attributes["cache.hit"]).toBe(true);
    expect(
      hit.filter((s) => ["cache.l2", "cache.origin"].includes(s.name) || s.name.startsWith("sql ")),
      "an L1 hit consults nothing else",
    ).toEqual([]);
  });
});

describe("logs", () => {
  test("a JSON log line written inside a span carries its trace_id and span_id", async () => {
    const { inSpan, SpanKind, startTracing } = await import("../runtime/tracing.ts");
    const { default: log } = await import("../encore/log.ts");
    expect(await startTracing({ instance: "test", services: [] }, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toBe(true);
    const lines: string[] = [];
    const write = process.stderr.write;
    process.env.LOG_FORMAT = "json";
    process.stderr.write = ((chunk: string) => (lines.push(chunk), true)) as typeof process.stderr.write;
    let ids = { traceId: "", spanId: "" };
    try {
      inSpan("work", SpanKind.INTERNAL, {}, (span) => {
        ids = span.spanContext();
        log.info("inside");
      });
      log.info("outside");
    } finally {
      process.stderr.write = write;
      delete process.env.LOG_FORMAT;
    }
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({ msg: "inside", trace_id: ids.traceId, span_id: ids.spanId });
    expect(outside.trace_id).toBeUndefined();
  });
});

describe("without an OTLP endpoint", () => {
  test("a host exports nothing and answers as usual", async () => {
    const before = spans.length;
    const quiet = await startHostProcess({ services: ["cache-manager"], env: { CACHET_KEY_PREFIX: `quiet${process.pid}:` } });
    try {
      const response = await fetch(`${quiet.url}/api/cache/quiet:1`, {
        headers: { ...bearer(TEST_TOKENS.viewer), traceparent: `00-${"ef".repeat(16)}-${"01".repeat(8)}-01` },
      });
      expect(response.status).toBe(404);
      await new Promise((resolve) => setTimeout(resolve, 500)); // longer than the exporters' 100 ms batch delay
      expect(spans.slice(before).filter((s) => s.traceId === "ef".repeat(16))).toEqual([]);
    } finally {
      await quiet.stop();
    }
  }, 120_000);
});
