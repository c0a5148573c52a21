/**
 * Spans through OpenTelemetry's API alone (no SDK, no side effects): without a registered tracer
 * provider every span is a no-op. The Node host registers one when the `OTEL_*` environment asks
 * for it (`infra/node-host/runtime/tracing.ts`); under Encore, Encore traces requests itself.
 */
import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";

/** Whether the environment asks for traces: an OTLP endpoint, not switched off. */
export function tracingRequested(env: Record<string, string | undefined>): boolean {
  if (env.OTEL_SDK_DISABLED === "true" || env.OTEL_TRACES_EXPORTER === "none") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** Runs `fn` in a new active span, ending it (with the error, if any) when `fn` settles. */
export function inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span: Span) => T, parent: Context = context.active()): T {
  return trace.getTracer("cachet").startActiveSpan(name, { kind, attributes }, parent, (span) => {
    const fail = (error: unknown) => {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      span.end();
      throw error;
    };
    try {
      const result = fn(span);
      if (result instanceof Promise) return result.then((value) => (span.end(), value), fail) as T;
      span.end();
      return result;
    } catch (error) {
      return fail(error);
    }
  });
}

type SpanAttributes = Record<string, string | number | boolean>;

/** The cache core's tracing port (`TieredCacheOptions.tracer`), as OpenTelemetry INTERNAL spans. */
export const openTelemetryCacheTracer = {
  span<T>(name: string, attributes: SpanAttributes, run: (annotate: (more: SpanAttributes) => void) => T): T {
    return inSpan(name, SpanKind.INTERNAL, attributes, (span) => run((more) => span.setAttributes(more)));
  },
};

export { SpanKind };
