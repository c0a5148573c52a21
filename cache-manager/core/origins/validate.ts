/**
 * Origin config validation. Every problem is collected (not just the first) and phrased as what to
 * change, so an operator fixes a config in one round trip.
 */
import { OriginConfigError } from "./errors.ts";
import type { HttpOriginConfig, OriginConfig, SqlOriginConfig } from "./types.ts";

export const MAX_ADDED_LATENCY_MS = 60_000;
export const MAX_TIMEOUT_MS = 120_000;
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const MAX_SQL_LENGTH = 10_000;
const MAX_NAMESPACE_LENGTH = 128;

const SQL_FIELDS = ["namespace", "kind", "database", "query", "listQuery", "listStart", "writeQuery", "deleteQuery", "addedLatencyMs"];
const HTTP_FIELDS = [
  "namespace",
  "kind",
  "url",
  "method",
  "headers",
  "timeoutMs",
  "writeUrl",
  "writeMethod",
  "deleteUrl",
  "deleteMethod",
  "addedLatencyMs",
  "maxResponseBytes",
];
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DATABASE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const ID_MARKER = "cachet-id-marker";

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const quote = (value: unknown) => JSON.stringify(value);

/** Problems with a namespace on its own (empty when it is fine). */
export function namespaceProblems(namespace: unknown): string[] {
  if (typeof namespace !== "string" || namespace.length === 0) return ['namespace is required: a key prefix ending in ":", e.g. "product:"'];
  const problems: string[] = [];
  if (!namespace.endsWith(":")) problems.push(`namespace ${quote(namespace)} must end with ":" (e.g. ${quote(`${namespace}:`)})`);
  if (namespace.length < 2) problems.push('namespace ":" is empty: put a name before the ":", e.g. "product:"');
  if (namespace.length > MAX_NAMESPACE_LENGTH) problems.push(`namespace is ${namespace.length} characters long: keep it to ${MAX_NAMESPACE_LENGTH}`);
  if (/[\s\p{Cc}]/u.test(namespace)) problems.push(`namespace ${quote(namespace)} contains whitespace or control characters: remove them`);
  if (/[*?[\]\\]/.test(namespace))
    problems.push(`namespace ${quote(namespace)} contains a glob character (* ? [ ] \\): invalidation patterns would misread it; remove it`);
  if (/[{}]/.test(namespace)) problems.push(`namespace ${quote(namespace)} contains "{" or "}": Redis Cluster would read it as a hash tag; remove them`);
  return problems;
}

/** True when two namespaces share keys, i.e. one is a prefix of the other. */
export function namespacesOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

/**
 * Throws `E_ORIGIN_CONFIG` when `namespace` overlaps one of `others` (equal namespaces are the
 * caller's business: a registry treats them as a replacement).
 */
export function assertNoOverlap(namespace: string, others: Iterable<string>): void {
  for (const other of others) {
    if (other !== namespace && namespacesOverlap(namespace, other)) {
      const [outer, inner] = namespace.startsWith(other) ? [other, namespace] : [namespace, other];
      throw new OriginConfigError(
        [
          `namespace ${quote(namespace)} overlaps ${quote(other)}: every key under ${quote(inner)} would also be under ${quote(outer)}; rename one so neither is a prefix of the other`,
        ],
        { namespace },
      );
    }
  }
}

/** The $n parameter numbers a statement references. */
function parameterNumbers(sql: string): Set<number> {
  return new Set([...sql.matchAll(/\$(\d+)/g)].map((match) => Number(match[1])));
}

function checkSql(problems: string[], field: string, sql: unknown, params: string[], readOnly: boolean): void {
  if (typeof sql !== "string" || sql.trim() === "") {
    problems.push(`${field} must be a SQL statement string`);
    return;
  }
  if (sql.length > MAX_SQL_LENGTH) problems.push(`${field} is ${sql.length} characters long: keep it to ${MAX_SQL_LENGTH}`);
  if (/\{\s*\w*\s*\}|\$\{/.test(sql)) {
    problems.push(
      `${field} interpolates into the SQL text (${quote(sql.match(/\{\s*\w*\s*\}|\$\{/)![0])}): use the parameter $1 for the id instead, e.g. "... WHERE id = $1"`,
    );
    return;
  }
  const used = parameterNumbers(sql);
  params.forEach((meaning, index) => {
    if (!used.has(index + 1)) problems.push(`${field} must use $${index + 1} (${meaning})`);
  });
  for (const n of used) {
    if (n < 1 || n > params.length) {
      const passed = params.map((meaning, index) => `$${index + 1} = ${meaning}`).join(", ");
      problems.push(`${field} uses $${n}, but only ${passed} ${params.length === 1 ? "is" : "are"} passed`);
    }
  }
  if (sql.trim().replace(/;\s*$/, "").includes(";")) problems.push(`${field} must be one statement: remove the ";" between statements`);
  if (readOnly && !/^\s*(select|with|values|table)\b/i.test(sql)) problems.push(`${field} must be a read-only SELECT (it runs on every cache miss)`);
}

function checkUrl(problems: string[], field: string, url: unknown, requireId: boolean): void {
  if (typeof url !== "string" || url === "") {
    problems.push(`${field} must be an http(s) URL string, e.g. "https://api.example.com/items/{id}"`);
    return;
  }
  if (requireId && !url.includes("{id}"))
    problems.push(`${field} must contain the placeholder {id} where the id goes, e.g. "https://api.example.com/items/{id}"`);
  const stray = url.replaceAll("{id}", "").match(/\{[^}]*\}?/);
  if (stray) problems.push(`${field} contains the unknown placeholder ${quote(stray[0])}: only {id} is replaced`);
  let parsed: URL;
  try {
    parsed = new URL(url.replaceAll("{id}", ID_MARKER));
  } catch {
    problems.push(`${field} ${quote(url)} is not a valid URL: write it as "https://host/path/{id}"`);
    return;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") problems.push(`${field} must use http:// or https://, not ${quote(parsed.protocol)}`);
  if (parsed.username || parsed.password)
    problems.push(`${field} contains credentials: remove them from the URL and send them in "headers" (e.g. Authorization)`);
  if (parsed.host.includes(ID_MARKER)) problems.push(`${field} puts {id} in the host: put it in the path or the query string`);
}

function checkNumber(problems: string[], config: Record<string, unknown>, field: string, min: number, max: number, unit: string): void {
  const value = config[field];
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    problems.push(`${field} must be a number of ${unit} from ${min} to ${max}, got ${quote(value)}`);
  }
}

function checkChoice(problems: string[], config: Record<string, unknown>, field: string, choices: string[]): void {
  const value = config[field];
  if (value !== undefined && !choices.includes(value as string)) problems.push(`${field} must be one of ${choices.join(", ")}, got ${quote(value)}`);
}

function checkUnknownFields(problems: string[], config: Record<string, unknown>, allowed: string[], kind: string): void {
  for (const field of Object.keys(config)) {
    if (!allowed.includes(field)) problems.push(`unknown field ${quote(field)} for a ${kind} origin (allowed: ${allowed.join(", ")})`);
  }
}

function sqlProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  checkUnknownFields(problems, config, SQL_FIELDS, "sql");
  if (config.database !== undefined && (typeof config.database !== "string" || !DATABASE_NAME.test(config.database))) {
    problems.push(`database must be a database name (letters, digits, "_" or "-", starting with a letter), got ${quote(config.database)}`);
  }
  checkSql(problems, "query", config.query, ["the id"], true);
  if (config.listQuery !== undefined) checkSql(problems, "listQuery", config.listQuery, ["the last id of the previous page", "the page size"], true);
  if (config.writeQuery !== undefined) checkSql(problems, "writeQuery", config.writeQuery, ["the id", "the value"], false);
  if (config.deleteQuery !== undefined) checkSql(problems, "deleteQuery", config.deleteQuery, ["the id"], false);
  if (config.listStart !== undefined && typeof config.listStart !== "string" && typeof config.listStart !== "number") {
    problems.push(`listStart must be a string or a number (a value below every id), got ${quote(config.listStart)}`);
  }
  if (config.listStart !== undefined && config.listQuery === undefined)
    problems.push("listStart is set but listQuery is not: add listQuery or remove listStart");
  checkNumber(problems, config, "addedLatencyMs", 0, MAX_ADDED_LATENCY_MS, "milliseconds");
  return problems;
}

function httpProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  checkUnknownFields(problems, config, HTTP_FIELDS, "http");
  checkUrl(problems, "url", config.url, true);
  if (config.writeUrl !== undefined) checkUrl(problems, "writeUrl", config.writeUrl, true);
  if (config.deleteUrl !== undefined) checkUrl(problems, "deleteUrl", config.deleteUrl, true);
  checkChoice(problems, config, "method", ["GET", "POST"]);
  checkChoice(problems, config, "writeMethod", ["PUT", "POST", "PATCH"]);
  checkChoice(problems, config, "deleteMethod", ["DELETE", "POST"]);
  if (config.writeMethod !== undefined && config.writeUrl === undefined)
    problems.push("writeMethod is set but writeUrl is not: add writeUrl or remove writeMethod");
  if (config.deleteMethod !== undefined && config.deleteUrl === undefined)
    problems.push("deleteMethod is set but deleteUrl is not: add deleteUrl or remove deleteMethod");
  if (config.headers !== undefined) {
    if (!isRecord(config.headers)) problems.push('headers must be an object of header name → string value, e.g. {"Authorization": "Bearer ..."}');
    else {
      for (const [name, value] of Object.entries(config.headers)) {
        if (!HEADER_NAME.test(name)) problems.push(`header name ${quote(name)} is not a valid HTTP header name`);
        if (typeof value !== "string" || /[\r\n\0]/.test(value)) problems.push(`header ${quote(name)} must be a single-line string`);
      }
    }
  }
  checkNumber(problems, config, "timeoutMs", 1, MAX_TIMEOUT_MS, "milliseconds");
  checkNumber(problems, config, "maxResponseBytes", 1, MAX_RESPONSE_BYTES, "bytes");
  checkNumber(problems, config, "addedLatencyMs", 0, MAX_ADDED_LATENCY_MS, "milliseconds");
  return problems;
}

/**
 * Validates an origin config from JSON or an API body and returns a clean copy (known fields only).
 * Throws `OriginConfigError` (`E_ORIGIN_CONFIG`) listing every problem.
 *
 * @example
 * validateOriginConfig({ namespace: "product", kind: "sql", query: "SELECT * FROM p WHERE id = {id}" });
 * // OriginConfigError: invalid origin "product": namespace "product" must end with ":" ...; query interpolates ...
 */
export function validateOriginConfig(input: unknown, where?: string): OriginConfig {
  if (!isRecord(input))
    throw new OriginConfigError([`expected an object such as {"namespace": "product:", "kind": "sql", ...}, got ${quote(input) ?? "undefined"}`], { where });
  const namespace = typeof input.namespace === "string" ? input.namespace : undefined;
  const problems = namespaceProblems(input.namespace);
  if (input.kind === "sql") problems.push(...sqlProblems(input));
  else if (input.kind === "http") problems.push(...httpProblems(input));
  else problems.push(`kind must be "sql" or "http", got ${quote(input.kind) ?? "nothing"}`);
  if (problems.length > 0) throw new OriginConfigError(problems, { namespace, where });

  const allowed = input.kind === "sql" ? SQL_FIELDS : HTTP_FIELDS;
  const clean = Object.fromEntries(allowed.filter((field) => input[field] !== undefined).map((field) => [field, input[field]]));
  if (isRecord(clean.headers)) clean.headers = { ...clean.headers };
  return clean as unknown as SqlOriginConfig | HttpOriginConfig;
}

/** Validates a list of configs together: each one, and that no two namespaces overlap or repeat. */
export function validateOriginConfigs(inputs: unknown, where = "origins"): OriginConfig[] {
  if (!Array.isArray(inputs)) throw new OriginConfigError([`expected an array of origin configs (or {"origins": [...]}), got ${typeof inputs}`], { where });
  const configs = inputs.map((input, index) => validateOriginConfig(input, `${where}[${index}]`));
  const seen: string[] = [];
  configs.forEach((config, index) => {
    if (seen.includes(config.namespace))
      throw new OriginConfigError([`namespace ${quote(config.namespace)} is configured twice: keep one`], { where: `${where}[${index}]` });
    assertNoOverlap(config.namespace, seen);
    seen.push(config.namespace);
  });
  return configs;
}
