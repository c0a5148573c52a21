/**
 * An OpenAPI 3.1 document of the app's exposed endpoints, made from the manifest, that is from
 * the same types Encore's parser reads and the host's decoder enforces. Shaped after Encore's
 * own `encore gen client --lang=openapi`: one operation per endpoint and method, `operationId`
 * `service.endpoint`, Encore's error body for every failure, named types under
 * `components/schemas`. Cachet adds who may call each operation (`x-cachet-role`, bearer auth)
 * and the 429 its rate limiter answers with `Retry-After`.
 *
 * Written by `npm run gen` to dashboard/openapi.gen.ts, which the dashboard service serves at
 * `GET /api/openapi.json`.
 *
 * @example
 * const doc = openApiDocument(loadManifest(appRoot), ENDPOINT_ROLES, { title: "Cachet", version: "0.1.0" });
 */
import type { EndpointManifest, FieldSchema, Manifest, TypeSchema } from "./manifest/types.ts";

type JsonSchema = Record<string, unknown>;

/** Methods whose request fields travel in the query string (Encore's rule, runtime/http/decode.ts). */
const QUERY_METHODS = new Set(["GET", "HEAD", "DELETE"]);
const WIRE_ERROR = { $ref: "#/components/responses/Error" };

/** A manifest type as JSON Schema 2020-12 (OpenAPI 3.1's dialect). */
export function jsonSchema(type: TypeSchema): JsonSchema {
  switch (type.k) {
    case "string":
    case "number":
    case "boolean":
    case "null":
      return { type: type.k };
    case "any":
      return {};
    case "date":
      return { type: "string", format: "date-time" };
    case "literal":
      return { const: type.v };
    case "array":
      return { type: "array", items: jsonSchema(type.e) };
    case "ref":
      return { $ref: `#/components/schemas/${type.name}` };
    case "object":
      return objectSchema(type.fields, type.index);
    case "union": {
      const literals = type.u.filter((t): t is Extract<TypeSchema, { k: "literal" }> => t.k === "literal");
      // Sorted: the member order tsc reports depends on what else the program holds.
      if (literals.length === type.u.length) return { enum: literals.map((l) => l.v).sort((a, b) => String(a).localeCompare(String(b))) };
      return { anyOf: type.u.map(jsonSchema).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) };
    }
  }
}

function objectSchema(fields: FieldSchema[], index?: TypeSchema): JsonSchema {
  const schema: JsonSchema = { type: "object", properties: Object.fromEntries(fields.map((f) => [f.wire, jsonSchema(f.type)])) };
  const required = fields.filter((f) => !f.optional).map((f) => f.wire);
  if (required.length) schema.required = required;
  if (index) schema.additionalProperties = jsonSchema(index);
  return schema;
}

/** `/api/cache/:key` → `/api/cache/{key}`; a wildcard `*path` becomes `{path}` too. */
const openApiPath = (path: string) => path.replace(/[:*](\w+)/g, "{$1}");

function requestFields(manifest: Manifest, endpoint: EndpointManifest): FieldSchema[] {
  let request = endpoint.request;
  while (request?.k === "ref") request = manifest.types[request.name];
  return request?.k === "object" ? request.fields : [];
}

function operation(manifest: Manifest, endpoint: EndpointManifest, method: string, role: string | undefined): JsonSchema {
  const fields = requestFields(manifest, endpoint);
  const inQuery = QUERY_METHODS.has(method);
  const parameters = fields
    .filter((f) => f.loc !== "body" || inQuery)
    .map((f) => ({
      name: f.wire,
      in: f.loc === "body" ? "query" : f.loc,
      required: f.loc === "path" || !f.optional,
      schema: jsonSchema(f.type),
    }));
  const bodyFields = inQuery ? [] : fields.filter((f) => f.loc === "body");
  const op: JsonSchema = {
    operationId: `${endpoint.service}.${endpoint.name}`,
    tags: [endpoint.service],
    ...(parameters.length ? { parameters } : {}),
    ...(bodyFields.length ? { requestBody: { required: true, content: { "application/json": { schema: objectSchema(bodyFields) } } } } : {}),
    responses: { "200": success(manifest, endpoint), default: WIRE_ERROR },
  };
  if (role) op["x-cachet-role"] = role;
  if (endpoint.auth) {
    op.security = [{ bearer: [] }];
    Object.assign(op.responses as object, {
      "401": WIRE_ERROR,
      "403": WIRE_ERROR,
      "429": { $ref: "#/components/responses/RateLimited" },
    });
  }
  if (endpoint.kind === "streamOut" || endpoint.kind === "streamIn" || endpoint.kind === "streamInOut") {
    op.description = "A WebSocket stream (upgrade this GET); messages are JSON.";
    op["x-encore-stream"] = endpoint.kind;
  }
  return op;
}

function success(manifest: Manifest, endpoint: EndpointManifest): JsonSchema {
  if (endpoint.kind === "raw") return { description: "Raw response (see the endpoint's documentation)", content: { "*/*": {} } };
  let response = endpoint.response;
  while (response?.k === "ref") response = manifest.types[response.name];
  if (response?.k !== "object") return { description: "OK" };
  const body = response.fields.filter((f) => f.loc === "body" && f.name !== endpoint.statusField);
  const headers = response.fields.filter((f) => f.loc === "header");
  return {
    description: "OK",
    content: { "application/json": { schema: objectSchema(body, response.index) } },
    ...(headers.length ? { headers: Object.fromEntries(headers.map((h) => [h.wire, { schema: jsonSchema(h.type) }])) } : {}),
  };
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

/** The document: every exposed endpoint except static file routes. */
export function openApiDocument(manifest: Manifest, roles: Record<string, string>, info: OpenApiInfo): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const endpoints = manifest.endpoints
    .filter((e) => e.expose && e.kind !== "static")
    .sort((a, b) => a.path.localeCompare(b.path) || a.name.localeCompare(b.name));
  for (const endpoint of endpoints) {
    const methods = endpoint.methods.includes("*") ? ["GET"] : endpoint.methods;
    const item = (paths[openApiPath(endpoint.path)] ??= {});
    for (const method of methods) item[method.toLowerCase()] = operation(manifest, endpoint, method, roles[`${endpoint.service}.${endpoint.name}`]);
  }
  return {
    openapi: "3.1.0",
    info,
    paths,
    components: {
      schemas: {
        ...Object.fromEntries(
          Object.entries(manifest.types)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, type]) => [name, jsonSchema(type)]),
        ),
        APIError: {
          type: "object",
          description: "Encore's error body",
          properties: {
            code: {
              type: "string",
              description: "Encore's error code: invalid_argument, not_found, unauthenticated, permission_denied, resource_exhausted, unavailable, ...",
            },
            message: { type: "string" },
            details: { description: "Optional structured details" },
          },
          required: ["code", "message"],
        },
      },
      responses: {
        Error: { description: "An error in Encore's format", content: { "application/json": { schema: { $ref: "#/components/schemas/APIError" } } } },
        RateLimited: {
          description: "The token's rate limit is exhausted (code resource_exhausted)",
          headers: { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" } } },
          content: { "application/json": { schema: { $ref: "#/components/schemas/APIError" } } },
        },
      },
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A token from CACHE_ADMIN_TOKEN or CACHE_TOKENS" } },
    },
  };
}
