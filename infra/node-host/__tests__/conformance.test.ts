/**
 * The manifest extractor and the Encore conformance check, driven by fixture apps:
 * `fixtures/conformance/<rule>[--variant]/` is a tiny app breaking one rule, with a
 * `// expect: <rule>` comment on each line a diagnostic must point at (the rule's `source` in
 * RULES names the Encore file behind the verdict); `accept--<case>/` is an app Encore accepts that
 * an earlier, stricter model rejected, citing its Encore source in an `// encore:` comment;
 * `good/` uses every resource kind correctly and its manifest is asserted field by field. The
 * fixtures live under `__tests__`, which Encore's file walk skips.
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { extractManifest, readAppSources, RULES, type ExtractResult } from "../manifest/extract.ts";
import { parsePath, comparePaths } from "../manifest/paths.ts";
import { loadManifest, ManifestError } from "../manifest/load.ts";
import type { EndpointManifest, FieldSchema, Manifest, TypeSchema } from "../manifest/types.ts";

const testDir = fileURLToPath(new URL(".", import.meta.url));
const fixturesDir = join(testDir, "fixtures/conformance");
const goodDir = join(fixturesDir, "good");
const appRoot = join(testDir, "../../..");
const badFixtures = readdirSync(fixturesDir)
  .filter((d) => d !== "good" && !d.startsWith("accept--"))
  .sort();
const acceptFixtures = readdirSync(fixturesDir)
  .filter((d) => d.startsWith("accept--"))
  .sort();

/** Every `.ts` file's text in a fixture, concatenated. */
function fixtureText(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .join("\n");
}

/** The `// expect: <rule>` markers of a fixture, as `file:line rule`. */
function expectations(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith(".ts")) {
        readFileSync(full, "utf8")
          .split("\n")
          .forEach((line, i) => {
            const m = /\/\/ expect: ([a-z-]+)/.exec(line);
            if (m) out.push(`${relative(dir, full)}:${i + 1} ${m[1]}`);
          });
      }
    }
  };
  walk(dir);
  return out.sort();
}

describe("the Encore conformance check", () => {
  test.each(badFixtures)("reports exactly what fixture %s marks, and nothing else", (fixture) => {
    const dir = join(fixturesDir, fixture);
    const rule = fixture.split("--")[0];
    const expected = expectations(dir);
    expect(expected.map((e) => e.split(" ")[1])).toContain(rule);

    const { diagnostics } = extractManifest(dir);

    expect(diagnostics.map((d) => `${d.pos.file}:${d.pos.line} ${d.rule}`).sort()).toEqual(expected);
    for (const d of diagnostics) {
      expect(d.message.length).toBeGreaterThan(10);
      expect(d.pos.column).toBeGreaterThan(0);
    }
  });

  test.each(acceptFixtures)("accepts fixture %s, as Encore does, and cites the Encore source behind it", (fixture) => {
    const dir = join(fixturesDir, fixture);
    expect(fixtureText(dir)).toMatch(/\/\/ encore: tsparser\/[a-z_/]+\.(rs|txt)\b/);
    expect(extractManifest(dir).diagnostics).toEqual([]);
  });

  test("names the Encore source file behind every rule, and marks the host's own rules as warnings", () => {
    for (const [id, rule] of Object.entries(RULES) as [string, { source: string; severity?: string }][]) {
      if (id === "extractor-error") continue;
      if (rule.severity === "warning") expect(rule.source, id).toMatch(/^infra\/node-host\//);
      else expect(rule.source, id).toMatch(/^tsparser\/(src|litparser\/src)\/[a-z_/]+\.rs$/);
    }
  });

  test("has a fixture for every rule it can report", () => {
    const covered = new Set(badFixtures.map((f) => f.split("--")[0]));
    const untestable = new Set(["extractor-error"]);
    const missing = Object.keys(RULES).filter((r) => !covered.has(r) && !untestable.has(r));
    expect(missing).toEqual([]);
    expect([...covered].filter((r) => !(r in RULES))).toEqual([]);
  });
});

describe("the manifest of an app using every resource kind", () => {
  let result: ExtractResult;
  let m: Manifest;
  const endpoint = (name: string): EndpointManifest => {
    const e = m.endpoints.find((x) => x.name === name);
    if (!e) throw new Error(`no endpoint ${name}`);
    return e;
  };
  const fields = (s: TypeSchema | undefined): FieldSchema[] => {
    if (s?.k !== "object") throw new Error(`not an object schema: ${JSON.stringify(s)}`);
    return s.fields;
  };
  const field = (s: TypeSchema | undefined, name: string): FieldSchema => {
    const f = fields(s).find((x) => x.name === name);
    if (!f) throw new Error(`no field ${name}`);
    return f;
  };

  beforeAll(() => {
    result = extractManifest(goodDir);
    m = result.manifest;
  });

  test("reports no diagnostics", () => {
    expect(result.diagnostics).toEqual([]);
  });

  test("finds the services and the files that declare their resources", () => {
    expect(m.services).toEqual([
      { name: "audit", dir: "audit", files: ["audit/compact.ts", "audit/cron.ts", "audit/db.ts", "audit/encore.service.ts", "audit/subscriber.ts"] },
      { name: "auth", dir: "auth", files: ["auth/auth.ts", "auth/encore.service.ts"] },
      { name: "catalog", dir: "catalog", files: ["catalog/encore.service.ts", "catalog/items.ts", "catalog/metrics.ts", "catalog/raw.ts", "catalog/topic.ts"] },
    ]);
    expect(m.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("reads paths, methods and options as Encore does, with its defaults", () => {
    const summary = m.endpoints.map((e) => [e.service, e.name, e.kind, e.methods.join(","), e.path, e.expose, e.auth, e.bodyLimit]);
    expect(summary).toEqual([
      ["audit", "compact", "api", "POST", "/audit.compact", false, false, undefined],
      ["audit", "nightly", "api", "POST", "/audit/nightly", false, false, undefined],
      ["catalog", "assets", "static", "GET", "/assets/*path", true, false, undefined],
      ["catalog", "getItem", "api", "GET", "/items/:id", true, true, undefined],
      ["catalog", "ping", "api", "POST", "/catalog.ping", false, false, undefined],
      ["catalog", "putItem", "api", "POST,PUT", "/items/:id", true, false, 4 * 1024 * 1024],
      ["catalog", "search", "api", "GET", "/search/items", true, false, undefined],
      ["catalog", "tree", "api", "GET", "/categories", false, false, undefined],
      ["catalog", "upload", "api", "*", "/upload", true, false, null],
      ["catalog", "watch", "streamOut", "GET", "/items/:id/watch", true, false, undefined],
      ["catalog", "webhook", "raw", "POST", "/webhooks/*rest", true, false, undefined],
    ]);
    expect(endpoint("getItem").tags).toEqual(["read"]);
    expect(endpoint("getItem").pos).toEqual({ file: "catalog/items.ts", line: 5, column: 14 });
    expect(endpoint("assets")).toMatchObject({ staticDir: "catalog/public", notFound: "catalog/public/404.html", notFoundStatus: 404 });
    expect(endpoint("ping").request).toBeUndefined();
    expect(endpoint("ping").response).toBeUndefined();
    expect(endpoint("webhook").request).toBeUndefined();
  });

  test("places request fields in the path, headers, query, cookies and body with their wire names", () => {
    const req = endpoint("getItem").request;
    expect(fields(req).map((f) => [f.name, f.loc, f.wire, f.optional])).toEqual([
      ["id", "path", "id", false],
      ["requestId", "header", "X-Request-Id", false],
      ["pageSize", "query", "page_size", true],
      ["fields", "query", "fields", true],
      ["session", "cookie", "sid", true],
      ["trace", "header", "trace", false],
    ]);
    expect(field(req, "id").type).toEqual({ k: "number" });
    expect(field(req, "pageSize").type).toEqual({ k: "number" });
    expect(field(req, "fields").type).toEqual({ k: "array", e: { k: "string" } });
    expect(field(req, "session").type).toEqual({ k: "string" });
    expect(fields(endpoint("putItem").request).map((f) => [f.name, f.loc])).toEqual([
      ["id", "path"],
      ["item", "body"],
    ]);
    // Body fields of a GET endpoint stay `body`: the host reads them from the query string.
    expect(fields(endpoint("search").request).map((f) => [f.name, f.loc, f.optional, f.type.k])).toEqual([
      ["text", "body", false, "string"],
      ["tags", "body", true, "array"],
      ["since", "body", true, "date"],
      ["status", "body", true, "union"],
    ]);
  });

  test("maps types: optional, unions, literals, enums, arrays, records, nested objects, dates, validation", () => {
    const resp = endpoint("getItem").response;
    expect(field(resp, "etag")).toMatchObject({ loc: "header", wire: "ETag", type: { k: "string" } });
    const item = field(resp, "item").type;
    const t = (name: string) => field(item, name);
    expect(t("id").type).toEqual({ k: "number" });
    expect(t("price").type).toEqual({ k: "number" });
    expect(t("status").type).toEqual({
      k: "union",
      u: [
        { k: "literal", v: "active" },
        { k: "literal", v: "retired" },
      ],
    });
    expect(t("tags").type).toEqual({ k: "array", e: { k: "string" } });
    expect(t("attributes").type).toEqual({ k: "object", fields: [], index: { k: "string" } });
    expect(t("dimensions")).toMatchObject({ optional: true, loc: "body" });
    expect(fields(t("dimensions").type).map((f) => f.name)).toEqual(["width", "height"]);
    expect(t("createdAt").type).toEqual({ k: "date" });
    expect(t("flag")).toMatchObject({ optional: true, type: { k: "boolean" } });
    const kind = t("kind").type;
    expect(kind.k === "union" && kind.u).toEqual(
      expect.arrayContaining([
        { k: "literal", v: "book" },
        { k: "literal", v: "game" },
        { k: "literal", v: 42 },
        { k: "literal", v: true },
      ]),
    );
    expect(t("category").type).toEqual({ k: "union", u: expect.arrayContaining([{ k: "null" }, { k: "ref", name: "Category" }]) });
  });

  test("turns recursive named types into refs", () => {
    expect(m.types.Category).toEqual({
      k: "object",
      fields: [
        { name: "name", wire: "name", loc: "body", optional: false, type: { k: "string" } },
        { name: "children", wire: "children", loc: "body", optional: false, type: { k: "array", e: { k: "ref", name: "Category" } } },
      ],
    });
    expect(field(endpoint("tree").response, "root").type).toEqual({ k: "ref", name: "Category" });
  });

  test("names the HttpStatus response field and reads stream handshakes", () => {
    expect(endpoint("putItem").statusField).toBe("status");
    const watch = endpoint("watch");
    expect(fields(watch.request).map((f) => [f.name, f.loc, f.optional, f.type.k])).toEqual([
      ["id", "path", false, "number"],
      ["since", "body", true, "date"],
    ]);
    expect(fields(watch.response).map((f) => f.name)).toEqual(["id", "name"]);
  });

  test("finds topics, subscriptions across files, cron jobs, databases, secrets, the auth handler and the gateway", () => {
    expect(m.topics.map(({ pos: _, ...t }) => t)).toEqual([
      { name: "global-events", service: undefined, deliveryGuarantee: "exactly-once" },
      { name: "item-changed", service: "catalog", deliveryGuarantee: "at-least-once" },
    ]);
    expect(m.subscriptions.map(({ pos: _, ...s }) => s)).toEqual([{ topic: "item-changed", name: "audit-item-changed", service: "audit" }]);
    expect(m.cronJobs.map(({ pos: _, ...c }) => c)).toEqual([
      { id: "audit-compact", title: "Compact the audit log", every: "1h", endpoint: { service: "audit", name: "compact" }, service: "audit" },
      { id: "audit-nightly", schedule: "0 3 * * *", endpoint: { service: "audit", name: "nightly" }, service: "audit" },
    ]);
    expect(m.databases).toEqual([{ name: "audit", service: "audit", migrations: "audit/migrations", pos: { file: "audit/db.ts", line: 3, column: 19 } }]);
    expect(m.secrets.map(({ pos: _, ...s }) => s)).toEqual([{ name: "TokenSigningKey", service: "auth" }]);
    expect(m.authHandlers).toHaveLength(1);
    expect(m.authHandlers[0]).toMatchObject({ service: "auth", name: "auth", file: "auth/auth.ts" });
    expect(fields(m.authHandlers[0].params).map((f) => [f.name, f.loc, f.wire, f.optional])).toEqual([
      ["authorization", "header", "Authorization", true],
      ["token", "query", "access_token", true],
      ["session", "cookie", "session", true],
    ]);
    expect(m.gateways.map(({ pos: _, ...g }) => g)).toEqual([{ name: "api-gateway", service: "auth", file: "auth/auth.ts", authHandler: "auth" }]);
  });

  test("is JSON-serialisable as is", () => {
    expect(JSON.parse(JSON.stringify(m))).toEqual(JSON.parse(JSON.stringify(m)));
  });
});

describe("Encore paths", () => {
  test.each([
    ["/", []],
    ["/api/cache/:key", ["literal:api", "literal:cache", "param:key"]],
    ["/files/*path", ["literal:files", "wildcard:path"]],
    ["/!fallback", ["fallback:fallback"]],
  ])("parses %s", (path, want) => {
    const parsed = parsePath(path);
    expect(parsed.ok && parsed.segments.map((s) => `${s.kind}:${s.value}`)).toEqual(want);
  });

  test.each([
    ["", "empty path"],
    ["items", "must start with '/'"],
    ["/a//b", "empty path segment"],
    ["/a/", "empty path segment"],
    ["/a/:", "must have a name"],
    ["/a/*rest/b", "wildcard segment must be at the end"],
    ["/a?b=1", "query"],
    ["/a/:id/:id", "duplicate path parameter"],
  ])("rejects %j", (path, message) => {
    const parsed = parsePath(path);
    expect(parsed.ok ? "" : parsed.error).toContain(message);
  });

  const segs = (p: string) => {
    const r = parsePath(p);
    if (!r.ok) throw new Error(r.error);
    return r.segments;
  };
  // matchit 0.7.3 (tsparser/src/app/mod.rs): parameters are renamed before insertion; static
  // children sit beside a parameter or catch-all child; a parameter and a catch-all cannot share
  // a position; the same route twice is a conflict.
  test.each([
    ["/api/cache/:key", "/api/cache/stats", undefined],
    ["/keys/:key", "/keys/:id/meta", undefined],
    ["/keys/:key", "/keys/:id", "duplicate"],
    ["/files/*rest", "/files/readme", undefined],
    ["/files/:name", "/files/*rest", "conflict"],
    ["/files/*a", "/files/*b", "conflict"],
    ["/files/*a", "/files/*a", "duplicate"],
    ["/items", "/items", "duplicate"],
    ["/items/:id", "/items/:id/watch", undefined],
    ["/items", "/items/:id", undefined],
    ["/a/b", "/a/c", undefined],
    ["/", "/:id", undefined],
    ["/!fallback", "/:id", undefined],
  ])("%s beside %s: %s", (a, b, want) => {
    expect(comparePaths(segs(a), segs(b))).toBe(want);
    expect(comparePaths(segs(b), segs(a))).toBe(want);
  });
});

describe("loadManifest", () => {
  test("caches the manifest by source hash and re-extracts when sources change", () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "cachet-manifest-"));
    try {
      const first = loadManifest(goodDir, { cacheDir });
      const cacheFile = join(cacheDir, "manifest.json");
      const cached = JSON.parse(readFileSync(cacheFile, "utf8")) as Manifest;
      expect(cached).toEqual(JSON.parse(JSON.stringify(first)));

      // Same hash: the cached JSON is returned as is (a marker proves it was not re-extracted).
      writeFileSync(cacheFile, JSON.stringify({ ...cached, types: { Marker: { k: "any" } } }));
      expect(loadManifest(goodDir, { cacheDir }).types).toEqual({ Marker: { k: "any" } });

      // A different hash (as after an edit): extracted again.
      writeFileSync(cacheFile, JSON.stringify({ ...cached, hash: "stale", types: { Marker: { k: "any" } } }));
      expect(loadManifest(goodDir, { cacheDir }).types).toEqual(first.types);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test("throws the diagnostics of an app Encore would reject, one `file:line:col  rule  message` per line", () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "cachet-manifest-"));
    try {
      const load = () => loadManifest(join(fixturesDir, "api-path-conflict"), { cacheDir });
      expect(load).toThrow(ManifestError);
      expect(load).toThrow(/svc\/cache\.ts:15:\d+ {2}api-path-conflict {2}GET \/files\/\*path conflicts/);
      expect(readdirSync(cacheDir)).toEqual([]);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe("the check CLI", () => {
  const run = (dir: string) => spawnSync(process.execPath, ["--import", "tsx", join(testDir, "../cli/check.ts"), dir], { cwd: appRoot, encoding: "utf8" });

  test("prints each finding and a summary, and exits 1", () => {
    const r = run(join(fixturesDir, "cron-schedule"));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^svc\/cron\.ts:8:\d+ {2}cron-schedule {2}`every` must be a multiple of 60 seconds$/m);
    expect(r.stdout).toMatch(/Encore conformance: 1 problem in 1 file/);
  });

  test("exits 0 on a conforming app", () => {
    const r = run(goodDir);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Encore conformance: OK — 3 services, 11 endpoints/);
  });
});

// Extracting the whole app runs a TypeScript program over it: seconds alone, far more on a busy machine.
describe("the real app", { timeout: 180_000 }, () => {
  test("holds only its own five services' encore.service.ts files on Encore's file walk", () => {
    const services = readAppSources(appRoot)
      .files.filter((f) => f.endsWith("/encore.service.ts"))
      .map((f) => relative(appRoot, f));
    expect(services).toEqual(["cache-manager", "dashboard", "invalidation", "monitoring", "warming"].map((s) => `${s}/encore.service.ts`));
  });

  test("extracts without diagnostics", () => {
    const { manifest, diagnostics } = extractManifest(appRoot);
    // The app grows in parallel; once it has services, it must conform.
    if (manifest.services.length > 0) expect(diagnostics).toEqual([]);
    expect(manifest.endpoints.every((e) => manifest.services.some((s) => s.name === e.service))).toBe(true);
  });
});
