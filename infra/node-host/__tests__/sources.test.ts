/**
 * The check walks exactly the files Encore's parser walks (tsparser/src/parser/parser.rs:
 * `is_ignored_name` applied with WalkDir's `filter_entry`, then only files whose extension is
 * `ts`), so whatever Encore would parse, the check parses too.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { isIgnoredName, readAppSources } from "../manifest/sources.ts";

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A temporary app holding `files` (relative paths), each with trivial content. */
function tempApp(files: string[], rootName = "app"): string {
  const base = mkdtempSync(join(tmpdir(), "cachet-walk-"));
  roots.push(base);
  const root = join(base, rootName);
  for (const f of ["encore.app", ...files]) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), "export {};\n");
  }
  return root;
}

describe("Encore's file walk", () => {
  test.each([
    ["node_modules", true],
    ["encore.gen", true],
    ["__tests__", true],
    [".cachet", true],
    [".eslintrc.ts", true],
    ["items.test.ts", true],
    ["items.spec.ts", true],
    ["items.test.js", true],
    ["items.spec.js", true],
    ["tests", false],
    ["fixtures", false],
    ["dist", false],
    ["frontend", false],
    ["items.tests.ts", false],
    ["__tests__x", false],
  ])("ignores the name %j: %s", (name, ignored) => {
    expect(isIgnoredName(name)).toBe(ignored);
  });

  test("takes every .ts and .d.ts file below the root and nothing Encore skips", () => {
    const root = tempApp([
      "svc/encore.service.ts",
      "svc/api.ts",
      "svc/types.d.ts",
      "svc/api.test.ts",
      "svc/api.spec.ts",
      "svc/view.tsx",
      "svc/mod.mts",
      "svc/plain.js",
      "frontend/vite.config.ts",
      "infra/host/test/fixtures/app/svc/encore.service.ts",
      "infra/host/__tests__/fixtures/app/svc/encore.service.ts",
      "node_modules/pkg/index.ts",
      "lib/node_modules/pkg/index.ts",
      "encore.gen/clients/index.ts",
      ".hidden/secret.ts",
      "lib/.local.ts",
    ]);
    symlinkSync(join(root, "svc/api.ts"), join(root, "svc/link.ts"));
    const files = readAppSources(root).files.map((f) => relative(root, f));
    expect(files).toEqual([
      "frontend/vite.config.ts",
      "infra/host/test/fixtures/app/svc/encore.service.ts",
      "svc/api.ts",
      "svc/encore.service.ts",
      "svc/types.d.ts",
    ]);
  });

  test("walks nothing when the app root's own name is one Encore ignores", () => {
    const root = tempApp(["svc/encore.service.ts"], "__tests__");
    expect(readAppSources(root).files).toEqual([]);
  });
});
