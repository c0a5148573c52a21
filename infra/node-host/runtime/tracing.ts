/**
 * Distributed tracing with OpenTelemetry, configured by the standard `OTEL_*` variables and off
 * unless an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`
 * turn it off again). When off, every hook below is one boolean test: nothing is allocated per
 * request, no context is propagated, nothing is exported.
 *
 * When on: a SERVER span per HTTP request (W3C `traceparent` accepted), a CLIENT span per
 * service-to-service call (in process, or over HTTP with `traceparent` sent), a PRODUCER span per
 * Pub/Sub publish and a CONSUMER span per delivery (the trace context travels in the message), a
 * span per Redis command and SQL query made inside a traced operation, and the cache's tier spans
 * (`cacheTracer()`). Spans are batched and exported over OTLP/HTTP (JSON). Log lines carry
 * `trace_id` and `span_id` (`logFields()`).
 *
 * @example
 * OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 OTEL_SERVICE_NAME=cachet npm start
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { inSpan, tracingRequested } from "../../../lib/tracing.ts";

/** Whether tracing is on for this process; fixed by `startTracing()`. */
export let tracingEnabled = false;
let tracer: Tracer = trace.getTracer("cachet");
let provider: { shutdown(): Promise<void> } | undefined;

/**
 * Starts the tracer provider when the environment asks for it (the SDK is loaded only then).
 * `instance` and `services` become resource attributes, so an operator filters spans by process
 * and service set.
 */
export async function startTracing(resource: { instance: string; services: string[] }, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (tracingEnabled || !tracingRequested(env)) return tracingEnabled;
  const [
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { BasicTracerProvider, BatchSpanProcessor },
  ] = await Promise.all([
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-base"),
  ]);
  const tracerProvider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": env.OTEL_SERVICE_NAME ?? "cachet",
      "service.instance.id": resource.instance,
      "cachet.services": resource.services.join(","),
    }),
    // the exporter reads OTEL_EXPORTER_OTLP_*(TRACES_)ENDPOINT / HEADERS / TIMEOUT itself
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: Number(env.OTEL_BSP_SCHEDULE_DELAY ?? 1000) })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  provider = tracerProvider;
  tracer = trace.getTracer("cachet");
  await instrumentClients();
  tracingEnabled = true;
  return true;
}

/** Exports what is buffered and stops (at shutdown). */
export async function stopTracing(): Promise<void> {
  await provider?.shutdown();
}

const headerGetter = {
  keys: (carrier: IncomingMessage["headers"]) => Object.keys(carrier),
  get: (carrier: IncomingMessage["headers"], key: string) => carrier[key],
};

/** The SERVER span of one HTTP request: parented by its `traceparent`, ended when the response is. */
export function serveTraced(req: IncomingMessage, res: ServerResponse, serve: () => void): void {
  const parent = propagation.extract(context.active(), req.headers, headerGetter);
  const path = (req.url ?? "/").split("?")[0];
  const span = tracer.startSpan(
    `${req.method} ${path}`,
    { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method, "url.path": path } },
    parent,
  );
  res.once("close", () => {
    span.setAttribute("http.response.status_code", res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(trace.setSpan(parent, span), serve);
}

/** Names the current request's span after its route (`GET /api/cache/:key`), as OpenTelemetry's HTTP conventions ask. */
export function nameRequest(method: string, route: string, service: string): void {
  const span = trace.getActiveSpan();
  span?.updateName(`${method} ${route}`);
  span?.setAttributes({ "http.route": route, "cachet.service": service });
}

/** The W3C trace context of the active span, to send along (HTTP headers, a Pub/Sub message). */
export function currentTraceparent(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** A context parented by a received `traceparent` (and `tracestate`). */
export function contextFrom(carrier: Record<string, string | undefined>): Context {
  return propagation.extract(context.active(), carrier);
}

/** Trace and span ids for a log line, when a span is active. */
export function logFields(): { trace_id: string; span_id: string } | undefined {
  const span = tracingEnabled ? trace.getActiveSpan() : undefined;
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** The span a client call gets when it is made inside a traced operation (none otherwise). */
function clientSpan(name: string, attributes: Attributes): Span | undefined {
  return trace.getActiveSpan() ? tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }) : undefined;
}

function endSpan(span: Span, error?: unknown): void {
  if (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
  }
  span.end();
}

/**
 * Spans for Redis commands (ioredis) and SQL queries (pg) made inside a traced operation; the
 * background loops (coherence follower, Pub/Sub consumers) have no active span and stay untraced.
 */
async function instrumentClients(): Promise<void> {
  const { default: Redis } = await import("ioredis");
  type Command = { name: string; promise: Promise<unknown> };
  const redisProto = Redis.prototype as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown };
  const sendCommand = redisProto.sendCommand;
  // ioredis callers await `command.promise`, not what sendCommand returns: the span follows it
  redisProto.sendCommand = function (this: unknown, command: Command, ...rest: unknown[]) {
    const span = clientSpan(`redis ${command.name}`, { "db.system.name": "redis", "db.operation.name": command.name });
    if (!span) return sendCommand.call(this, command, ...rest);
    command.promise.then(
      () => endSpan(span),
      (error: unknown) => endSpan(span, error),
    );
    return context.with(trace.setSpan(context.active(), span), () => sendCommand.call(this, command, ...rest));
  };

  const pg = await import("pg");
  const clientProto = pg.default.Client.prototype as unknown as { query(...args: unknown[]): unknown };
  const query = clientProto.query;
  clientProto.query = function (this: unknown, ...args: unknown[]) {
    const text = typeof args[0] === "string" ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    const operation = text?.trimStart().split(/\s/, 1)[0].toUpperCase() ?? "QUERY";
    const span = clientSpan(`sql ${operation}`, { "db.system.name": "postgresql", "db.operation.name": operation, "db.query.text": text?.slice(0, 500) });
    if (!span) return query.apply(this, args);
    const result = context.with(trace.setSpan(context.active(), span), () => query.apply(this, args));
    if (result instanceof Promise)
      result.then(
        () => endSpan(span),
        (error: unknown) => endSpan(span, error),
      );
    else endSpan(span); // callback style: timed to the call only
    return result;
  };
}

export { inSpan, SpanKind, tracingRequested };
