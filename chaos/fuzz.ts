/**
 * A manifest-driven fuzzer: for every exposed endpoint, a well-formed request (from its request
 * type) is taken apart field by field and sent with hostile values — wrong types, huge strings,
 * deep JSON, unicode, `../` and control characters in keys and path parameters, glob bombs,
 * negative and huge numbers, missing fields, broken JSON and wrong content types. The platform
 * must answer every one with a 2xx/4xx: a 5xx or a dropped connection is a finding.
 */
import WebSocket from "ws";
import type { EndpointManifest, Manifest } from "../infra/node-host/manifest/types.ts";
import { build, endpointId, exposedEndpoints, requestFields, send, wellFormed, type BuiltRequest, type RequestParts } from "./requests.ts";

const DEEP = 20_000;
const deepJson = "[".repeat(DEEP) + "]".repeat(DEEP);
const deepObject = '{"a":'.repeat(DEEP) + "1" + "}".repeat(DEEP);

export const HOSTILE_STRINGS: string[] = [
  "",
  " ",
  "../../../../etc/passwd",
  "..\\..\\..\\windows\\win.ini",
  "product:../../x",
  "\u0000",
  "a\u0001\u0007\u001b[31m\u007fb",
  "line\r\nx-injected: 1",
  "*[*[*[",
  "[".repeat(500),
  "\\",
  "*?".repeat(200) + "x",
  // Costly globs: a long tail after a star (Redis tries it at every key position), many stars,
  // many floating wildcards, classes.
  "product:*" + "a".repeat(511) + "b",
  "*a".repeat(16) + "b",
  "product:*" + "?".repeat(40) + "*",
  "[a-z]".repeat(200),
  "[^]]][a-",
  "😀🔥\u202e\ufeff\u200b",
  "\ud800",
  "x".repeat(100_000),
  "k".repeat(70_000) + ":",
  "'; DROP TABLE audit_log; --",
  "<script>alert(1)</script>",
  "__proto__",
  "constructor",
  "NaN",
  "-1",
  "1e309",
  "0x7fffffff",
];

export const HOSTILE_NUMBERS: number[] = [-1, 0, -1e308, 1e308, 2 ** 53 + 1, 1.5, -0.5, 1e21, 2 ** 31];

export const WRONG_TYPES: unknown[] = [
  null,
  true,
  0,
  "s",
  [],
  {},
  [[[]]],
  { nested: { deeper: [1, "2", null] } },
  Array.from({ length: 20_000 }, (_, i) => `k${i}`),
];

/** Raw path parameters, sent without encoding (what a hand-written client or a scanner sends). */
const RAW_PATH_VALUES = [
  "..",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e",
  "%",
  "%ZZ",
  "%00",
  "a%0D%0Ab",
  "%E2%80%AE",
  "%F0%9F%98%80",
  "*%5B*%5B*%5B",
  "x".repeat(8_000),
];

const RAW_BODIES = [
  "{",
  "[]",
  "null",
  "42",
  '"text"',
  "{}{}",
  '{"a":1,}',
  deepJson,
  deepObject,
  `{${Array.from({ length: 50_000 }, (_, i) => `"f${i}":${i}`).join(",")}}`,
  '{"__proto__":{"polluted":true}}',
  "\u0000\u0001",
];

const AUTH_HEADERS = ["Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer a b", `Bearer ${"x".repeat(20_000)}`, "Bearer \u00ff\u00fe"];

export interface FuzzCase {
  endpoint: string;
  what: string;
  request: BuiltRequest;
  /** Overrides the token (null: none) — for malformed Authorization headers. */
  authorization?: string;
}

/** Every case for one endpoint. */
export function casesFor(endpoint: EndpointManifest, manifest: Manifest): FuzzCase[] {
  const id = endpointId(endpoint);
  const base = wellFormed(endpoint, manifest);
  const cases: FuzzCase[] = [];
  const add = (what: string, parts: RequestParts, options?: Parameters<typeof build>[2]) =>
    cases.push({ endpoint: id, what, request: build(endpoint, parts, options) });
  const clone = (): RequestParts => structuredClone(base);

  add("well-formed", clone());
  for (const name of Object.keys(base.pathParams)) {
    for (const value of HOSTILE_STRINGS) add(`path :${name} = ${preview(value)}`, { ...clone(), pathParams: { ...base.pathParams, [name]: value } });
    for (const value of RAW_PATH_VALUES)
      add(`raw path :${name} = ${preview(value)}`, { ...clone(), pathParams: { ...base.pathParams, [name]: value } }, { rawPath: true });
  }
  const fields = requestFields(endpoint, manifest).filter((f) => f.loc !== "path");
  const inQuery = base.body === undefined;
  for (const field of fields) {
    const values: unknown[] = [...WRONG_TYPES, ...HOSTILE_NUMBERS, ...HOSTILE_STRINGS];
    for (const value of values) {
      const parts = clone();
      if (field.loc === "header") parts.headers[field.wire] = String(value).replace(/[^\x20-\x7e]/g, "");
      else if (field.loc === "query" || inQuery) {
        parts.query = parts.query.filter(([k]) => k !== field.wire);
        if (Array.isArray(value)) value.slice(0, 50).forEach((v) => parts.query.push([field.wire, String(v)]));
        else parts.query.push([field.wire, typeof value === "object" ? JSON.stringify(value) : String(value)]);
      } else (parts.body as Record<string, unknown>)[field.wire] = value;
      add(`${field.loc} ${field.wire} = ${preview(value)}`, parts);
    }
    if (!field.optional) {
      const parts = clone();
      if (field.loc === "query" || inQuery) parts.query = parts.query.filter(([k]) => k !== field.wire);
      else if (field.loc === "body") delete (parts.body as Record<string, unknown>)[field.wire];
      add(`missing ${field.wire}`, parts);
    }
    if (field.loc === "body" && !inQuery) {
      const deep = clone();
      (deep.body as Record<string, unknown>)[field.wire] = "@DEEP@";
      add(`body ${field.wire} = deep JSON`, deep, { rawBody: JSON.stringify(deep.body).replace('"@DEEP@"', deepJson) });
    }
  }
  if (inQuery) add("unknown and repeated query parameters", { ...clone(), query: [...base.query, ...base.query, ["unknown", "1"], ["", ""], ["a[b]", "c"]] });
  if (!inQuery) {
    for (const raw of RAW_BODIES) add(`raw body ${preview(raw)}`, clone(), { rawBody: raw });
    add("text/plain content type", clone(), { contentType: "text/plain" });
    add("form content type", clone(), { contentType: "application/x-www-form-urlencoded", rawBody: "a=b&c=%ZZ" });
    add("no content type, binary body", clone(), { contentType: "application/octet-stream", rawBody: "\u0000\u00ff\u0001" });
  }
  for (const header of AUTH_HEADERS)
    cases.push({ endpoint: id, what: `authorization: ${preview(header)}`, request: build(endpoint, clone()), authorization: header });
  return cases;
}

function preview(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 30)}…(${text.length})` : text;
}

export interface FuzzFinding {
  endpoint: string;
  what: string;
  method: string;
  path: string;
  status: number;
  body: string;
}

export interface FuzzReport {
  sent: number;
  byStatus: Record<number, number>;
  findings: FuzzFinding[];
  endpoints: number;
}

/** Sends every case to `baseUrl` with `concurrency` requests in flight. */
export async function fuzz(
  baseUrl: string,
  manifest: Manifest,
  options: { token: string; concurrency?: number; only?: (e: EndpointManifest) => boolean },
): Promise<FuzzReport> {
  const endpoints = exposedEndpoints(manifest).filter(options.only ?? (() => true));
  const cases = endpoints.flatMap((e) => casesFor(e, manifest));
  const report: FuzzReport = { sent: 0, byStatus: {}, findings: [], endpoints: endpoints.length };
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++];
      const request = c.authorization === undefined ? c.request : { ...c.request, headers: { ...c.request.headers, authorization: c.authorization } };
      const { status, text } = await send(baseUrl, request, c.authorization === undefined ? options.token : null);
      report.sent++;
      report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
      if (status >= 500 || status === 0)
        report.findings.push({
          endpoint: c.endpoint,
          what: c.what,
          method: request.method,
          path: request.path.slice(0, 120),
          status,
          body: text.slice(0, 300),
        });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 6 }, worker));
  return report;
}

/** Frames a hostile stream client sends: not JSON, binary, deep JSON, an array that expands when parsed. */
export const HOSTILE_FRAMES: Array<{ what: string; data: string | Buffer }> = [
  { what: "not JSON", data: "{not json" },
  { what: "binary", data: Buffer.from([0, 1, 2, 255]) },
  { what: "deep JSON", data: "[".repeat(30_000) + "]".repeat(30_000) },
  { what: "empty arrays (expand ~20× when parsed)", data: `[${Array.from({ length: 30_000 }, () => "[]").join(",")}]` },
  { what: "over the message limit", data: "x".repeat(1024 * 1024) },
];

export interface StreamFloodReport {
  sockets: number;
  framesSent: number;
  bytesSent: number;
  /** How the server closed the sockets: close code → count (1006: the connection dropped). */
  closeCodes: Record<number, number>;
}

/**
 * `sockets` clients of the streaming endpoint at `url` (ws://…) send `frame` as fast as the
 * socket drains, for `durationMs`, and never read: what a hostile client does to a host. A client
 * the server disconnects reconnects; with `durationMs` 0 each sends one frame and closes.
 */
export async function streamFlood(
  url: string,
  token: string,
  options: { sockets: number; durationMs: number; frame: string | Buffer },
): Promise<StreamFloodReport> {
  const report: StreamFloodReport = { sockets: options.sockets, framesSent: 0, bytesSent: 0, closeCodes: {} };
  const until = Date.now() + options.durationMs;
  const client = () =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, maxPayload: 64 * 1024 * 1024 });
      let closed = false;
      const done = (code: number) => {
        if (closed) return;
        closed = true;
        report.closeCodes[code] = (report.closeCodes[code] ?? 0) + 1;
        resolve();
      };
      const pump = () => {
        if (options.durationMs === 0 && report.framesSent === 0) {
          socket.send(options.frame);
          report.framesSent++;
          report.bytesSent += options.frame.length;
          return void setTimeout(() => socket.readyState === WebSocket.OPEN && socket.close(1000), 500);
        }
        // At most 200 frames per turn, so this client still reads what the server answers (its close).
        for (let n = 0; n < 200 && !closed && socket.readyState === WebSocket.OPEN && Date.now() < until && socket.bufferedAmount < 4 * 1024 * 1024; n++) {
          socket.send(options.frame);
          report.framesSent++;
          report.bytesSent += options.frame.length;
        }
        if (closed || socket.readyState !== WebSocket.OPEN) return;
        if (Date.now() >= until) return socket.close(1000);
        setTimeout(pump, 1);
      };
      socket.once("open", pump);
      socket.once("close", (code) => done(code));
      socket.once("unexpected-response", (_req, res) => (res.resume(), done(res.statusCode ?? 0)));
      socket.once("error", () => done(1006));
    });
  // A client the server disconnects connects again until the time is up.
  const slot = async () => {
    do await client();
    while (Date.now() < until);
  };
  await Promise.all(Array.from({ length: options.sockets }, slot));
  return report;
}

/** Each hostile frame sent once on its own socket: the close codes the server answered with. */
export async function streamFuzz(url: string, token: string): Promise<Array<{ what: string; closeCode: number }>> {
  const results: Array<{ what: string; closeCode: number }> = [];
  for (const { what, data } of HOSTILE_FRAMES) {
    const report = await streamFlood(url, token, { sockets: 1, durationMs: 0, frame: data });
    results.push({ what, closeCode: Number(Object.keys(report.closeCodes)[0]) });
  }
  return results;
}
