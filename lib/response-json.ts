/**
 * A response object that carries its own JSON, as text or UTF-8 bytes, for endpoints whose
 * answer is mostly values encoded before (a batch of L1 hits): the Node host writes that JSON
 * instead of walking the object again with `JSON.stringify`. The object stays the whole answer:
 * Encore's runtime, an in-process caller and `JSON.stringify` see only its string keys and
 * ignore the symbol.
 *
 * The JSON must be exactly `JSON.stringify(body)`. Whoever attaches it tests that; the host also
 * compares the two on every response while NODE_ENV is `test` and answers 500 when they differ,
 * so every test that reaches such an endpoint through a host checks it again.
 *
 * @example
 * return withResponseJson({ entries }, encodeEntries(entries)); // the host writes the second argument
 */

/** The property holding the JSON; registered (`Symbol.for`) so the host and the app share it. */
export const RESPONSE_JSON: unique symbol = Symbol.for("cachet.response-json");

/** JSON text, or its UTF-8 bytes. */
export type ResponseJson = string | Uint8Array;

/** Attaches `json` (which must be `JSON.stringify(body)` or its UTF-8 bytes) to `body`; returns `body`. */
export function withResponseJson<T extends object>(body: T, json: ResponseJson): T {
  (body as { [RESPONSE_JSON]?: ResponseJson })[RESPONSE_JSON] = json;
  return body;
}

/** The JSON attached to a response, if any. */
export function responseJsonOf(body: object): ResponseJson | undefined {
  const json = (body as { [RESPONSE_JSON]?: unknown })[RESPONSE_JSON];
  return typeof json === "string" || json instanceof Uint8Array ? json : undefined;
}
