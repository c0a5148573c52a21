import { describe, expect, test } from "vitest";
import { OriginConfigError } from "./errors.ts";
import { assertNoOverlap, validateOriginConfig, validateOriginConfigs } from "./validate.ts";

const sql = (overrides: Record<string, unknown> = {}) => ({
  namespace: "product:",
  kind: "sql",
  query: "SELECT data FROM products WHERE id = $1",
  ...overrides,
});
const http = (overrides: Record<string, unknown> = {}) => ({ namespace: "user:", kind: "http", url: "https://api.example.com/users/{id}", ...overrides });

/** The message of the OriginConfigError `run` throws (fails the test when it does not throw one). */
function configError(run: () => unknown): OriginConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OriginConfigError);
    expect((error as OriginConfigError).code).toBe("E_ORIGIN_CONFIG");
    return error as OriginConfigError;
  }
  throw new Error("expected an OriginConfigError");
}

describe("validateOriginConfig", () => {
  test.each([
    [
      "a sql origin with every field",
      sql({
        database: "catalog",
        listQuery: "SELECT id FROM p WHERE id > $1 ORDER BY id LIMIT $2",
        listStart: 0,
        writeQuery: "UPDATE p SET data = $2 WHERE id = $1",
        deleteQuery: "DELETE FROM p WHERE id = $1",
        addedLatencyMs: 25,
      }),
    ],
    ["a CTE load query", sql({ query: "WITH x AS (SELECT * FROM p) SELECT data FROM x WHERE id = $1;" })],
    [
      "an http origin with every field",
      http({
        method: "GET",
        headers: { Authorization: "Bearer t" },
        timeoutMs: 2000,
        writeUrl: "https://api.example.com/users/{id}",
        writeMethod: "PATCH",
        deleteUrl: "http://api.example.com/users/{id}",
        deleteMethod: "DELETE",
        maxResponseBytes: 1024,
      }),
    ],
    ["an id in the query string", http({ url: "https://api.example.com/users?id={id}" })],
  ])("accepts %s", (_label, config) => {
    expect(validateOriginConfig(config)).toEqual(config);
  });

  test("returns a copy without undefined fields", () => {
    const input = sql({ database: undefined });
    const clean = validateOriginConfig(input);
    expect(clean).not.toBe(input);
    expect("database" in clean).toBe(false);
  });

  test.each([
    ["a non-object", "product:", /expected an object/],
    ["no namespace", { kind: "sql", query: "SELECT 1 WHERE 1 = $1" }, /namespace is required: a key prefix ending in ":"/],
    ["a namespace without a trailing colon", sql({ namespace: "product" }), /namespace "product" must end with ":" \(e\.g\. "product:"\)/],
    ["an empty namespace", sql({ namespace: ":" }), /put a name before the ":"/],
    ["a glob character in the namespace", sql({ namespace: "prod*:" }), /glob character/],
    ["a hash tag in the namespace", sql({ namespace: "{p}:" }), /hash tag/],
    ["whitespace in the namespace", sql({ namespace: "my product:" }), /whitespace/],
    ["an unknown kind", { namespace: "x:", kind: "graphql" }, /kind must be "sql" or "http", got "graphql"/],
    ["a misspelt field", sql({ qurey: "x" }), /unknown field "qurey" for a sql origin \(allowed: namespace, kind/],
    ["no query", { namespace: "p:", kind: "sql" }, /query must be a SQL statement string/],
    [
      "{id} interpolation in SQL",
      sql({ query: "SELECT data FROM products WHERE id = '{id}'" }),
      /query interpolates into the SQL text \("\{id\}"\): use the parameter \$1/,
    ],
    ["template-literal interpolation in SQL", sql({ query: "SELECT data FROM products WHERE id = ${id}" }), /interpolates/],
    ["a query without $1", sql({ query: "SELECT data FROM products LIMIT 1" }), /query must use \$1 \(the id\)/],
    ["a query using $2", sql({ query: "SELECT data FROM products WHERE id = $1 AND v = $2" }), /query uses \$2, but only \$1 = the id is passed/],
    ["two statements", sql({ query: "SELECT data FROM p WHERE id = $1; DROP TABLE p" }), /must be one statement/],
    ["a load query that writes", sql({ query: "DELETE FROM p WHERE id = $1" }), /query must be a read-only SELECT/],
    ["a listQuery without the limit", sql({ listQuery: "SELECT id FROM p WHERE id > $1 ORDER BY id" }), /listQuery must use \$2 \(the page size\)/],
    ["a writeQuery without the value", sql({ writeQuery: "UPDATE p SET touched = now() WHERE id = $1" }), /writeQuery must use \$2 \(the value\)/],
    ["listStart without listQuery", sql({ listStart: 0 }), /listStart is set but listQuery is not/],
    ["a bad database name", sql({ database: "db; drop" }), /database must be a database name/],
    ["a negative added latency", sql({ addedLatencyMs: -5 }), /addedLatencyMs must be a number of milliseconds from 0 to 60000, got -5/],
    ["an ftp URL", http({ url: "ftp://files.example.com/{id}" }), /url must use http:\/\/ or https:\/\/, not "ftp:"/],
    ["a URL without {id}", http({ url: "https://api.example.com/users" }), /url must contain the placeholder \{id\}/],
    ["an unknown placeholder", http({ url: "https://api.example.com/{tenant}/users/{id}" }), /unknown placeholder "\{tenant\}"/],
    ["credentials in the URL", http({ url: "https://bob:secret@api.example.com/users/{id}" }), /send them in "headers"/],
    ["{id} in the host", http({ url: "https://{id}.example.com/users" }), /puts \{id\} in the host/],
    ["not a URL", http({ url: "api.example.com/{id}" }), /is not a valid URL/],
    ["a zero timeout", http({ timeoutMs: 0 }), /timeoutMs must be a number of milliseconds from 1 to 120000/],
    ["a bad method", http({ method: "DELETE" }), /method must be one of GET, POST, got "DELETE"/],
    ["writeMethod without writeUrl", http({ writeMethod: "PUT" }), /writeMethod is set but writeUrl is not/],
    ["a multi-line header", http({ headers: { "x-a": "1\r\nx-b: 2" } }), /header "x-a" must be a single-line string/],
    ["a bad header name", http({ headers: { "bad header": "1" } }), /not a valid HTTP header name/],
  ])("rejects %s with a message that says what to fix", (_label, config, message) => {
    expect(configError(() => validateOriginConfig(config)).message).toMatch(message);
  });

  test("lists every problem at once", () => {
    const error = configError(() => validateOriginConfig(sql({ namespace: "product", query: "SELECT * FROM p WHERE id = {id}", addedLatencyMs: "slow" })));
    expect(error.problems).toHaveLength(3);
    expect(error.message).toMatch(/^invalid origin "product": /);
  });
});

describe("namespace overlap", () => {
  test("rejects a namespace nested in another, naming both", () => {
    const error = configError(() => assertNoOverlap("product:eu:", ["user:", "product:"]));
    expect(error.message).toMatch(/namespace "product:eu:" overlaps "product:": every key under "product:eu:" would also be under "product:"/);
  });

  test("accepts namespaces that merely share a beginning", () => {
    expect(() => assertNoOverlap("products:", ["product:", "prod:x:"])).not.toThrow();
  });

  test("a list with a repeated namespace names the entry", () => {
    expect(configError(() => validateOriginConfigs([sql(), sql()])).message).toMatch(/invalid origins\[1\]: namespace "product:" is configured twice/);
  });

  test("a list entry's problems name its index", () => {
    expect(configError(() => validateOriginConfigs([sql(), http({ url: "nope" })])).message).toMatch(/^invalid origins\[1\]: /);
  });
});
