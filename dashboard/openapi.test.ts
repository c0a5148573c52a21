/**
 * The OpenAPI document, checked against outside judges: the OpenAPI 3.1 meta-schema (through
 * @seriousme/openapi-schema-validator), and the host's own decoder, sampled both ways with Ajv
 * reading the document's schemas: a request the document accepts is one the host decodes, and a
 * request the document rejects is one the host refuses with 400.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadManifest } from "../infra/node-host/manifest/load.ts";
import { openApiDocument } from "../infra/node-host/openapi.ts";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts.ts";
import { appRoot } from "../infra/node-host/testing/spawn.ts";
import { TEST_TOKENS, bearer } from "../infra/node-host/testing/tokens.ts";
import { ENDPOINT_ROLES } from "../lib/endpoint-roles.ts";

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
  schema: Schema;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: { "application/json": { schema: Schema } } };
  security?: unknown[];
  "x-cachet-role"?: string;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const manifest = loadManifest(appRoot);
let host: HostProcess;
let served: Document;

beforeAll(async () => {
  host = await startHostProcess({ env: { CACHE_DEMO_LATENCY_MS: "0", CACHET_KEY_PREFIX: `openapi${process.pid}:` } });
  served = (await (await fetch(`${host.url}/api/openapi.json`)).json()) as Document;
}, 120_000);
afterAll(() => host?.stop());

const operations = () =>
  Object.entries(served.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));

describe("GET /api/openapi.json", () => {
  test("serves the document generated from the current manifest (regenerate with npm run gen)", async () => {
    const pkg = JSON.parse(readFileSync(join(appRoot, "package.json"), "utf8")) as { version: string; description: string };
    const fresh = openApiDocument(manifest, ENDPOINT_ROLES, { title: "Cachet", version: pkg.version, description: pkg.description });
    expect(served).toEqual(JSON.parse(JSON.stringify(fresh)));
  });

  test("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(served as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect((served as unknown as { openapi: string }).openapi).toBe("3.1.0");
    // and the validator is a real judge: a parameter without its `in` is refused
    const broken = structuredClone(served);
    delete (broken.paths["/api/cache/{key}"].get.parameters![0] as Partial<Parameter>).in;
    expect((await new Validator().validate(broken as never)).valid).toBe(false);
  });

  test("has one operation for every exposed endpoint and method, with its role, and nothing else", () => {
    const expected = manifest.endpoints
      .filter((e) => e.expose && e.kind !== "static")
      .flatMap((e) => (e.methods.includes("*") ? ["GET"] : e.methods).map((m) => `${m} ${e.service}.${e.name}`))
      .sort();
    expect(
      operations()
        .map(({ method, op }) => `${method} ${op.operationId}`)
        .sort(),
    ).toEqual(expected);
    for (const { op } of operations()) {
      expect(op["x-cachet-role"], op.operationId).toBe(ENDPOINT_ROLES[op.operationId]);
      expect(Boolean(op.security), op.operationId).toBe(ENDPOINT_ROLES[op.operationId] !== "public");
    }
  });
});

// ----------------------------------------------------------------- sampled both ways

/** The document's schema for one operation's request: its query and body fields as one object. */
function requestSchema(op: Operation, method: string): Schema | undefined {
  if (["GET", "HEAD", "DELETE"].includes(method)) {
    const query = (op.parameters ?? []).filter((p) => p.in === "query");
    if (!query.length) return undefined;
    return {
      type: "object",
      properties: Object.fromEntries(query.map((p) => [p.name, p.schema])),
      required: query.filter((p) => p.required).map((p) => p.name),
    };
  }
  return op.requestBody?.content["application/json"].schema;
}

function deref(schema: Schema): Schema {
  const ref = schema.$ref as string | undefined;
  return ref ? deref(served.components.schemas[ref.split("/").at(-1)!]) : schema;
}

/** The smallest value a schema accepts (names steer strings towards plausible keys). */
function sample(schema: Schema, name = "", depth = 0): unknown {
  const s = deref(schema);
  if ("const" in s) return s.const;
  if (s.enum) return (s.enum as unknown[])[0];
  if (s.anyOf) return sample((s.anyOf as Schema[]).find((m) => deref(m).type !== "null") ?? (s.anyOf as Schema[])[0], name, depth + 1);
  switch (s.type) {
    case "string":
      return s.format === "date-time" ? new Date(0).toISOString() : /key|pattern|match/i.test(name) ? `openapi${process.pid}:k` : "x";
    case "number":
    case "integer":
      return 1;
    case "boolean":
      return false;
    case "null":
      return null;
    case "array":
      return depth > 4 ? [] : [sample(s.items as Schema, name, depth + 1)];
    case "object": {
      const required = (s.required as string[] | undefined) ?? [];
      const props = (s.properties ?? {}) as Record<string, Schema>;
      return Object.fromEntries(required.map((k) => [k, sample(props[k], k, depth + 1)]));
    }
    default:
      return "x";
  }
}

/**
 * A value the schema refuses, as it travels: in a query string every value is text, so a plain
 * string field has no wrong value there. Undefined when nothing is wrong (`any`).
 */
function wrongValue(schema: Schema, inQuery: boolean): unknown {
  const s = deref(schema);
  if (Object.keys(s).length === 0 || s.anyOf) return undefined;
  if (s.enum || "const" in s) return "not-a-member";
  if (s.type === "string") return inQuery ? undefined : 12345;
  return "not-this";
}

const ajv = new Ajv2020({ strict: false });
ajv.addFormat("date-time", (text: string) => !Number.isNaN(Date.parse(text)));
const DECODE_ERROR = /^(invalid value for|missing required|the request body must be)/;

/** Path parameters from their schemas (numbers far beyond any id, strings in this test's key space). */
function pathValues(op: Operation): Record<string, string> {
  const params = (op.parameters ?? []).filter((p) => p.in === "path");
  return Object.fromEntries(params.map((p) => [p.name, deref(p.schema).type === "number" ? "987654321" : `openapi${process.pid}:no-such-${p.name}`]));
}

function send(path: string, method: string, value: Record<string, unknown>, params: Record<string, string>) {
  const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]));
  const url = new URL(host.url + concrete);
  let body: string | undefined;
  if (["GET", "HEAD", "DELETE"].includes(method)) {
    for (const [k, v] of Object.entries(value)) url.searchParams.set(k, typeof v === "string" ? v : JSON.stringify(v));
  } else body = JSON.stringify(value);
  return fetch(url, { method, body, headers: { ...bearer(TEST_TOKENS.admin), "content-type": "application/json" } });
}

/** Whether the host's decoder refused the request (400 with one of its messages), and why. */
async function decodeRefusal(response: Response): Promise<string | undefined> {
  const text = await response.text();
  if (response.status !== 400) return undefined;
  const message = (JSON.parse(text) as { message: string }).message;
  return DECODE_ERROR.test(message) ? message : undefined;
}

describe("the document and the host's decoder agree", () => {
  /** Operations whose call with the sample is harmless (no flush, no lab run, no origin change). */
  const harmless = (op: Operation, method: string) =>
    !["cache-manager.flush", "cache-manager.runLab", "cache-manager.putOrigin", "cache-manager.removeOrigin", "monitoring.putRules"].includes(op.operationId) &&
    !(method === "GET" && op.operationId === "monitoring.live");

  test("a request the document accepts is decoded; one it rejects (field missing or of the wrong type) is refused with 400", async () => {
    const checked: string[] = [];
    const wrong: string[] = [];
    for (const { path, method, op } of operations()) {
      const schema = requestSchema(op, method);
      if (!schema || !harmless(op, method)) continue;
      const withDefs = { ...schema, $defs: served.components.schemas };
      const validate = ajv.compile(JSON.parse(JSON.stringify(withDefs).replaceAll("#/components/schemas/", "#/$defs/")));
      const params = pathValues(op);
      const good = sample(schema) as Record<string, unknown>;
      expect(validate(good), `${op.operationId}: the sample is valid`).toBe(true);
      const refusal = await decodeRefusal(await send(path, method, good, params));
      if (refusal) wrong.push(`${method} ${op.operationId}: document accepts ${JSON.stringify(good)}, host refused: ${refusal}`);
      checked.push(op.operationId);

      const s = deref(schema);
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const field of (s.required as string[] | undefined) ?? []) {
        const missing = { ...good };
        delete missing[field];
        expect(validate(missing)).toBe(false);
        if (!(await decodeRefusal(await send(path, method, missing, params))))
          wrong.push(`${method} ${op.operationId}: without "${field}" the document refuses, the host decoded it`);
      }
      for (const [field, fieldSchema] of Object.entries(props)) {
        const bad = wrongValue(fieldSchema, ["GET", "HEAD", "DELETE"].includes(method));
        if (bad === undefined) continue;
        const mutated = { ...good, [field]: bad };
        expect(validate(mutated), `${op.operationId}.${field} = ${JSON.stringify(bad)}`).toBe(false);
        if (!(await decodeRefusal(await send(path, method, mutated, params))))
          wrong.push(`${method} ${op.operationId}: "${field}" = ${JSON.stringify(bad)} is refused by the document, decoded by the host`);
      }
    }
    // a path parameter typed as a number refuses text, in the document and in the host
    for (const { path, method, op } of operations().filter(({ op, method }) => harmless(op, method))) {
      for (const param of (op.parameters ?? []).filter((p) => p.in === "path" && deref(p.schema).type === "number")) {
        const refusal = await decodeRefusal(await send(path, method, {}, { ...pathValues(op), [param.name]: "not-a-number" }));
        if (!refusal?.includes(param.name)) wrong.push(`${method} ${op.operationId}: path "${param.name}" = "not-a-number" was decoded`);
      }
    }
    console.log(`openapi vs decoder: ${checked.length} operations sampled, ${wrong.length} disagreements`);
    expect(wrong).toEqual([]);
    expect(checked.length).toBeGreaterThan(10);
  }, 120_000);
});
