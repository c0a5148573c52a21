/**
 * Service-to-service calls over HTTP, for services that run in another process: the payload is
 * encoded the way the server decodes it (path parameters, query, headers, JSON body), the call
 * carries the internal secret and the caller's auth data, and error responses come back as the
 * same APIError.
 */
import { fromWireError } from "../encore/errors.ts";
import type { EndpointManifest, FieldSchema, Manifest, TypeSchema } from "../manifest/types.ts";
import { AUTH_DATA_HEADER, INTERNAL_HEADER } from "./http/server.ts";
import type { RequestContext } from "./reqctx.ts";
import { currentTraceparent, tracingEnabled } from "./tracing.ts";

const BODYLESS = new Set(["GET", "HEAD", "DELETE"]);

export interface RemoteCallerOptions {
  manifest: Manifest;
  internalSecret: string;
  /** Base URL per service (e.g. `http://10.0.0.5:4000`); `*` is the fallback for all services. */
  serviceUrls: Record<string, string>;
  timeoutMs?: number;
}

export class RemoteCaller {
  private readonly byName = new Map<string, EndpointManifest>();

  constructor(private readonly options: RemoteCallerOptions) {
    for (const endpoint of options.manifest.endpoints) this.byName.set(`${endpoint.service}.${endpoint.name}`, endpoint);
  }

  baseUrl(service: string): string {
    const url = this.options.serviceUrls[service] ?? this.options.serviceUrls["*"];
    if (!url) {
      throw new Error(
        `service "${service}" does not run in this process and no URL is configured for it: set CACHET_SERVICE_URLS="${service}=http://host:port" or CACHET_GATEWAY_URL`,
      );
    }
    return url.replace(/\/$/, "");
  }

  async call(service: string, name: string, payload: unknown, authData: RequestContext["authData"]): Promise<unknown> {
    const endpoint = this.byName.get(`${service}.${name}`);
    if (!endpoint) throw new Error(`unknown endpoint ${service}.${name}`);
    const methods = endpoint.methods.includes("*") ? ["POST"] : endpoint.methods;
    const method = methods.includes("POST") && payload !== undefined ? "POST" : methods[0];
    const request = encodeRequest(this.options.manifest, endpoint, method, (payload ?? {}) as Record<string, unknown>);
    const headers: Record<string, string> = { ...request.headers, [INTERNAL_HEADER]: this.options.internalSecret };
    if (authData) headers[AUTH_DATA_HEADER] = Buffer.from(JSON.stringify(authData)).toString("base64url");
    if (request.body !== undefined) headers["content-type"] = "application/json";
    if (tracingEnabled) Object.assign(headers, currentTraceparent());
    const response = await fetch(this.baseUrl(service) + request.path, {
      method,
      headers,
      body: request.body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    const body = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) throw fromWireError(response.status, body);
    return body;
  }
}

/** Builds the path, headers and body for calling `endpoint` with `payload`. */
export function encodeRequest(
  manifest: Manifest,
  endpoint: EndpointManifest,
  method: string,
  payload: Record<string, unknown>,
): { path: string; headers: Record<string, string>; body?: string } {
  const fields = objectFields(manifest, endpoint.request);
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  const body: Record<string, unknown> = {};
  const pathValues: Record<string, string> = {};
  const bodyInQuery = BODYLESS.has(method);
  for (const field of fields) {
    const value = payload[field.name];
    if (value === undefined) continue;
    const loc = field.loc === "body" && bodyInQuery ? "query" : field.loc;
    if (loc === "path") pathValues[field.wire] = String(value);
    else if (loc === "header") headers[field.wire.toLowerCase()] = text(value);
    else if (loc === "query") for (const item of Array.isArray(value) ? value : [value]) query.append(field.wire, text(item));
    else if (loc === "cookie") headers.cookie = `${headers.cookie ? headers.cookie + "; " : ""}${field.wire}=${encodeURIComponent(text(value))}`;
    else body[field.wire] = value;
  }
  const path = endpoint.path
    .split("/")
    .map((segment) => {
      const marker = segment[0];
      if (marker !== ":" && marker !== "*" && marker !== "!") return segment;
      const value = pathValues[segment.slice(1)] ?? "";
      return marker === ":" ? encodeURIComponent(value) : value.split("/").map(encodeURIComponent).join("/");
    })
    .join("/");
  const qs = query.toString();
  const hasBody = !bodyInQuery && (Object.keys(body).length > 0 || fields.some((f) => f.loc === "body"));
  return { path: qs ? `${path}?${qs}` : path, headers, body: hasBody ? JSON.stringify(body) : undefined };
}

function objectFields(manifest: Manifest, schema: TypeSchema | undefined): FieldSchema[] {
  let type = schema;
  for (let hops = 0; type?.k === "ref" && hops < 32; hops++) type = manifest.types[type.name];
  return type?.k === "object" ? type.fields : [];
}

function text(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value);
}
