/**
 * The endpoints this process serves: manifest entries bound to the handlers found among the
 * service modules' exports, and the in-process invocation used by typed clients and cron jobs.
 */
import type { EndpointDefinition } from "../encore/api.ts";
import type { EndpointManifest, FieldSchema, Manifest, TypeSchema } from "../manifest/types.ts";
import { runWithRequest, type RequestContext } from "./reqctx.ts";

export interface BoundEndpoint {
  manifest: EndpointManifest;
  definition: EndpointDefinition;
  /** `Header<>` fields of the response type, sent as headers instead of in the body. */
  responseHeaders: FieldSchema[];
}

export const endpointKey = (service: string, name: string) => `${service}.${name}`;

export function bindEndpoint(manifest: Manifest, entry: EndpointManifest, definition: EndpointDefinition): BoundEndpoint {
  return { manifest: entry, definition, responseHeaders: headerFields(manifest, entry.response) };
}

function headerFields(manifest: Manifest, schema: TypeSchema | undefined): FieldSchema[] {
  let type = schema;
  for (let hops = 0; type?.k === "ref" && hops < 32; hops++) type = manifest.types[type.name];
  return type?.k === "object" ? type.fields.filter((f) => f.loc === "header") : [];
}

/**
 * Calls a typed endpoint's handler as a service-to-service call would: with its own request
 * context (carrying the caller's auth data) and JSON-copied payload and result, so the caller
 * sees exactly what it would receive over HTTP.
 */
export async function invokeInProcess(endpoint: BoundEndpoint, payload: unknown, authData: RequestContext["authData"]): Promise<unknown> {
  const { manifest, definition } = endpoint;
  if (definition.kind !== "api" || !definition.handler) {
    throw new Error(`${manifest.service}.${manifest.name} is a ${definition.kind} endpoint and cannot be called as a function`);
  }
  const params = payload === undefined ? undefined : jsonCopy(payload);
  const context: RequestContext = {
    authData,
    meta: {
      type: "api-call",
      api: { service: manifest.service, endpoint: manifest.name, raw: false, auth: manifest.auth, tags: manifest.tags },
      method: (manifest.methods[0] === "*" ? "POST" : manifest.methods[0]) as "POST",
      path: manifest.path,
      pathAndQuery: manifest.path,
      pathParams: {},
      headers: {},
      parsedPayload: params as Record<string, unknown> | undefined,
    },
  };
  const result = await runWithRequest(context, () => definition.handler!(params));
  return result === undefined ? undefined : jsonCopy(result);
}

function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
