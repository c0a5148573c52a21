/**
 * The HTTP origin: `{id}` in the URL template is replaced by the URL-encoded id; JSON in, JSON out;
 * every request has a hard deadline covering headers and body.
 *
 * Hardened for an origin fetched on a viewer's read: the ids `.` and `..` are refused (a URL
 * parser would climb a path segment with them, encoded or not); redirects are followed only within
 * the same origin (scheme, host, port), so configured headers never reach another host; errors
 * name the origin's namespace and the status, never the upstream URL or body (the cause keeps
 * them for the server log). Where connections may go is the injected fetch's job (egress.ts).
 */
import { OriginArgumentError, OriginEgressError, OriginError, OriginRequestError, type OriginOperation } from "./errors.ts";
import { idOf, loadEach, sleep as timerSleep, withDeadline } from "./support.ts";
import type { HttpOriginConfig, LoadResult, Origin, OriginCallOptions } from "./types.ts";

export const DEFAULT_HTTP_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Redirects followed within the origin before the request fails. */
const MAX_REDIRECTS = 5;

/** `template` with every `{id}` replaced by the URL-encoded id; throws for `.` and `..`. */
export function expandUrl(template: string, id: string): string {
  if (id === "." || id === "..") throw new OriginArgumentError(`the id ${JSON.stringify(id)} would change the origin URL's path; use another key`);
  return template.replaceAll("{id}", encodeURIComponent(id));
}

/** The first OriginEgressError in an error's cause chain (undici wraps connect errors). */
function egressRefusal(error: unknown): OriginEgressError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof OriginEgressError) return e;
  return undefined;
}

/** Reads a body as text, refusing more than `maxBytes` (checked while streaming, not after). */
async function readBounded(response: Response, maxBytes: number, fail: (message: string) => Error): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw fail(`response is ${declared} bytes, more than maxResponseBytes (${maxBytes})`);
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw fail(`response is more than maxResponseBytes (${maxBytes}) bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Builds an HTTP origin. Load: 2xx → the parsed JSON body, 404 → not found, anything else →
 * `OriginRequestError` with `status`. Write sends the value as a JSON body to `writeUrl`.
 */
export function createHttpOrigin(
  config: HttpOriginConfig,
  options: { fetch?: typeof fetch; sleep?: (ms: number, signal?: AbortSignal) => Promise<void> } = {},
): Origin {
  const { namespace } = config;
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? timerSleep;
  const timeoutMs = config.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const maxBytes = config.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const latency = config.addedLatencyMs ?? 0;

  /** One request under the deadline; `handle` reads the response while the deadline still applies. */
  function request<T>(
    operation: OriginOperation,
    url: string,
    init: { method: string; body?: string },
    call: OriginCallOptions | undefined,
    handle: (response: Response, fail: (message: string, status?: number) => OriginRequestError) => Promise<T>,
  ): Promise<T> {
    const fail = (message: string, status?: number, cause?: unknown) =>
      new OriginRequestError(`origin "${namespace}" ${operation} ${init.method}: ${message}`, { namespace, operation, status, cause });
    return withDeadline({ namespace, operation, timeoutMs }, call, async (signal) => {
      if (latency > 0) await sleep(latency, signal);
      const headers: Record<string, string> = { accept: "application/json", ...config.headers };
      if (init.body !== undefined) headers["content-type"] = "application/json";
      let response: Response;
      try {
        response = await fetchWithinOrigin(url, { method: init.method, headers, body: init.body, signal });
      } catch (error) {
        if (signal.aborted && signal.reason instanceof OriginError) throw signal.reason;
        const refused = egressRefusal(error);
        if (refused) throw refused;
        if (error instanceof OriginRequestError) throw error;
        const code = (error as { cause?: { code?: unknown } })?.cause?.code;
        throw fail(`request failed${typeof code === "string" ? ` (${code})` : ""}`, undefined, error);
      }
      try {
        return await handle(response, (message, status) => fail(message, status));
      } catch (error) {
        if (signal.aborted && signal.reason instanceof OriginError) throw signal.reason;
        throw error;
      }
    });

    /** Follows redirects only to the same scheme, host and port; refuses one that leaves it. */
    async function fetchWithinOrigin(first: string, requestInit: RequestInit): Promise<Response> {
      let target = new URL(first);
      for (let hop = 0; ; hop++) {
        const response = await doFetch(target, { ...requestInit, redirect: "manual" });
        const location = response.status >= 300 && response.status < 400 ? response.headers.get("location") : null;
        if (location === null) return response;
        await response.body?.cancel().catch(() => {});
        const next = new URL(location, target);
        if (next.origin !== target.origin)
          throw fail(`status ${response.status} redirects to another host; point the origin URL at the final location`, response.status);
        if (hop >= MAX_REDIRECTS) throw fail(`more than ${MAX_REDIRECTS} redirects`, response.status);
        target = next;
      }
    }
  }

  /** Rejects a non-2xx response with its status only: the upstream body is not shown to callers. */
  async function expectOk(response: Response, fail: (message: string, status?: number) => OriginRequestError): Promise<void> {
    if (response.ok) return;
    await response.body?.cancel().catch(() => {});
    throw fail(`status ${response.status}`, response.status);
  }

  async function load(key: string, call?: OriginCallOptions): Promise<LoadResult> {
    const url = expandUrl(config.url, idOf(namespace, key));
    return request("load", url, { method: config.method ?? "GET" }, call, async (response, fail) => {
      if (response.status === 404) {
        await response.body?.cancel().catch(() => {});
        return { found: false };
      }
      await expectOk(response, fail);
      const text = await readBounded(response, maxBytes, (m) => fail(m, response.status));
      try {
        return { found: true, value: JSON.parse(text) as unknown };
      } catch (error) {
        throw new OriginRequestError(`origin "${namespace}" load: the response is not JSON`, {
          namespace,
          operation: "load",
          status: response.status,
          cause: error,
        });
      }
    });
  }

  /** Sends and discards the response body; only the status matters. */
  const send = (operation: OriginOperation, url: string, init: { method: string; body?: string }, call?: OriginCallOptions) =>
    request(operation, url, init, call, async (response, fail) => {
      await expectOk(response, fail);
      await response.body?.cancel().catch(() => {});
    });

  const origin: Origin = {
    namespace,
    kind: "http",
    config,
    load,
    loadMany: (keys, call) => loadEach(keys, (key) => load(key, call)),
  };
  if (config.writeUrl) {
    const writeUrl = config.writeUrl;
    origin.write = async (key, value, call) => {
      const body = JSON.stringify(value);
      if (body === undefined) throw new OriginArgumentError(`origin "${namespace}" cannot write ${String(value)}: the value has no JSON form`);
      await send("write", expandUrl(writeUrl, idOf(namespace, key)), { method: config.writeMethod ?? "PUT", body }, call);
    };
  }
  if (config.deleteUrl) {
    const deleteUrl = config.deleteUrl;
    origin.remove = async (key, call) => send("remove", expandUrl(deleteUrl, idOf(namespace, key)), { method: config.deleteMethod ?? "DELETE" }, call);
  }
  return origin;
}
