/**
 * Requests built from the endpoint manifest (infra/node-host/manifest): which endpoints are
 * exposed, a well-formed request for each (from its request type), and how to send one. Shared
 * by the fuzzer and the authorization matrix, so a new endpoint is covered by both without edits.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { EndpointManifest, FieldSchema, Manifest, TypeSchema } from "../infra/node-host/manifest/types.ts";
import { appRoot } from "./harness.ts";

/** The manifest the host processes serve (written by `npm run gen` or any host start). */
export function loadManifest(): Manifest {
  return JSON.parse(readFileSync(join(appRoot, ".cachet", "manifest.json"), "utf8")) as Manifest;
}

export const endpointId = (e: Pick<EndpointManifest, "service" | "name">) => `${e.service}.${e.name}`;

/** Endpoints reachable from outside (what a client, or an attacker, can call). */
export function exposedEndpoints(manifest: Manifest): EndpointManifest[] {
  return manifest.endpoints.filter((e) => e.expose);
}

export function resolve(schema: TypeSchema | undefined, manifest: Manifest): TypeSchema | undefined {
  let current = schema;
  for (let hops = 0; current?.k === "ref" && hops < 32; hops++) current = manifest.types[current.name];
  return current;
}

/** The request's fields (empty when the endpoint takes none). */
export function requestFields(endpoint: EndpointManifest, manifest: Manifest): FieldSchema[] {
  const request = resolve(endpoint.request, manifest);
  if (request?.k === "object") return request.fields;
  if (request?.k === "union")
    return request.u.flatMap((u) => (resolve(u, manifest)?.k === "object" ? (resolve(u, manifest) as { fields: FieldSchema[] }).fields : []));
  return [];
}

/** A plausible value of `schema`: the smallest that decodes (`name` picks key-like strings). */
export function sampleValue(schema: TypeSchema | undefined, manifest: Manifest, name = "", depth = 0): unknown {
  const type = resolve(schema, manifest);
  if (!type || depth > 6) return null;
  switch (type.k) {
    case "string":
      return /key|pattern|match|prefix/i.test(name) ? "product:1" : /namespace/i.test(name) ? "product:" : "sample";
    case "number":
      return 1;
    case "boolean":
      return false;
    case "null":
      return null;
    case "any":
      return "sample";
    case "date":
      return new Date(0).toISOString();
    case "literal":
      return type.v;
    case "array":
      return [sampleValue(type.e, manifest, name.replace(/s$/, ""), depth + 1)];
    case "union": {
      const member = type.u.find((u) => resolve(u, manifest)?.k !== "null") ?? type.u[0];
      return sampleValue(member, manifest, name, depth + 1);
    }
    case "object": {
      const out: Record<string, unknown> = {};
      for (const field of type.fields) if (!field.optional) out[field.wire] = sampleValue(field.type, manifest, field.name, depth + 1);
      return out;
    }
    default:
      return null;
  }
}

export interface BuiltRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The raw body sent (undefined: none). */
  body?: string;
}

export interface RequestParts {
  pathParams: Record<string, string>;
  query: Array<[string, string]>;
  body: unknown;
  headers: Record<string, string>;
}

/** The well-formed parts of a request to `endpoint`: path params, query, body. */
export function wellFormed(endpoint: EndpointManifest, manifest: Manifest): RequestParts {
  const method = endpoint.methods[0] === "*" ? "POST" : endpoint.methods[0];
  const bodyInQuery = ["GET", "HEAD", "DELETE"].includes(method);
  const parts: RequestParts = { pathParams: {}, query: [], body: undefined, headers: {} };
  for (const segment of endpoint.path.split("/")) {
    const m = /^[:*!](.+)$/.exec(segment);
    if (m) parts.pathParams[m[1]] = /id$/i.test(m[1]) ? "1" : m[1] === "scenario" ? "miss-vs-hit" : /namespace/i.test(m[1]) ? "product:" : "product:1";
  }
  const body: Record<string, unknown> = {};
  for (const field of requestFields(endpoint, manifest)) {
    if (field.loc === "path") {
      const value = sampleValue(field.type, manifest, field.name);
      parts.pathParams[field.wire] ??= String(value);
      continue;
    }
    if (field.optional) continue;
    const value = sampleValue(field.type, manifest, field.name);
    if (field.loc === "header") parts.headers[field.wire] = String(value);
    else if (field.loc === "query" || (field.loc === "body" && bodyInQuery)) parts.query.push([field.wire, String(value)]);
    else if (field.loc === "body") body[field.wire] = value;
  }
  if (!bodyInQuery && endpoint.kind === "api") parts.body = body;
  return parts;
}

/** encodeURIComponent that also takes lone surrogates (sent as their WTF-8 bytes). */
function safeEncode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...value].map((ch) => (/[\ud800-\udfff]/.test(ch) ? "%ED%A0%80" : encodeURIComponent(ch))).join("");
  }
}

/** Puts the parts together; path params are percent-encoded unless `rawPath` is set. */
export function build(
  endpoint: EndpointManifest,
  parts: RequestParts,
  options: { rawPath?: boolean; rawBody?: string; contentType?: string } = {},
): BuiltRequest {
  const method = endpoint.methods[0] === "*" ? "POST" : endpoint.methods[0];
  const path = endpoint.path
    .split("/")
    .map((segment) => {
      const m = /^[:*!](.+)$/.exec(segment);
      if (!m) return segment;
      const value = parts.pathParams[m[1]] ?? "x";
      return options.rawPath ? value : safeEncode(value);
    })
    .join("/");
  const query = parts.query.length ? `?${parts.query.map(([k, v]) => `${safeEncode(k)}=${safeEncode(v)}`).join("&")}` : "";
  const body = options.rawBody ?? (parts.body === undefined ? undefined : JSON.stringify(parts.body));
  return { method, path: path + query, headers: { "content-type": options.contentType ?? "application/json", ...parts.headers }, body };
}

/** Sends a built request; resolves with the status (0 when the connection failed) and the body text. */
export async function send(
  baseUrl: string,
  request: BuiltRequest,
  token: string | null,
  timeoutMs = 30_000,
): Promise<{ status: number; text: string; headers: Headers | null }> {
  try {
    const response = await fetch(baseUrl + request.path, {
      method: request.method,
      headers: { ...request.headers, ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, text: await response.text(), headers: response.headers };
  } catch (error) {
    return { status: 0, text: String(error), headers: null };
  }
}
