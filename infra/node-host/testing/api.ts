/**
 * Test helpers for talking to a host process: one JSON call with a test token, and polling until
 * a condition holds (bounded, no fixed sleeps).
 */
import { TEST_TOKENS } from "./tokens.ts";

export type TestToken = keyof typeof TEST_TOKENS;

export interface ApiCallOptions {
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body` (malformed-input tests). */
  raw?: string;
  /** Which test token to send; `null` sends none. Default admin. */
  token?: TestToken | null;
  headers?: Record<string, string>;
}

/** Calls `method path` on `baseUrl`; the body is parsed as JSON when it is JSON (else null). */
export async function callApi(baseUrl: string, method: string, path: string, options: ApiCallOptions = {}) {
  const token = options.token === undefined ? "admin" : options.token;
  const response = await fetch(baseUrl + path, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${TEST_TOKENS[token]}` } : {}),
      ...options.headers,
    },
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as any, headers: response.headers };
}

/** Polls `probe` until `ok` holds or `timeoutMs` passes; returns the last value either way. */
export async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000, pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
