/**
 * Smoke test of the benchmark harness: runs `bench/run.ts --tiny` end to end (its own Redis, the
 * peer libraries, two host processes, every section for a moment) and checks the results file and
 * the regenerated README region it writes into a temporary directory. Not a timed assertion: the
 * figures of a tiny run on a shared machine mean nothing.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import type { BenchResults } from "./lib/report";

const appRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "cachet-bench-smoke-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECTION_IDS = ["tiered", "l1", "http", "invalidation", "warming", "coherence", "memory", "serving", "l3", "l3-recovery"];

describe("npm run bench -- --tiny", () => {
  test("runs every section end to end, writes a valid results file and regenerates only the README's bench region", async () => {
    const readme = join(dir, "README.md");
    copyFileSync(join(appRoot, "README.md"), readme);
    const before = readFileSync(readme, "utf8");
    const { stdout } = await promisify(execFile)(join(appRoot, "node_modules/.bin/tsx"), ["bench/run.ts", "--tiny", `--out-dir=${dir}`, `--readme=${readme}`], {
      cwd: appRoot,
      timeout: 420_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain("== Targets");

    const files = readdirSync(dir).filter((f) => /^\d{4}-\d{2}-\d{2}-tiny\.json$/.test(f));
    expect(files).toHaveLength(1);
    const results = JSON.parse(readFileSync(join(dir, files[0]), "utf8")) as BenchResults;
    expect(results).toMatchObject({ schema: 1, mode: "tiny" });
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.cpuModel).not.toBe("");
    expect(results.machine.node).toBe(process.version);
    expect(results.machine.redis).toMatch(/^\d+\.\d+/);
    expect(results.sections.map((s) => s.id)).toEqual(SECTION_IDS);
    for (const section of results.sections) {
      expect(section.error, `${section.id}: ${section.error}`).toBeUndefined();
      expect(section.tables.length).toBeGreaterThan(0);
      for (const table of section.tables) for (const row of table.rows) expect(row).toHaveLength(table.header.length);
    }
    expect(results.targets.length).toBeGreaterThanOrEqual(8);
    const coherence = results.sections.find((s) => s.id === "coherence")!.data as { staleReads: number };
    expect(coherence.staleReads).toBe(0);

    const after = readFileSync(readme, "utf8");
    const outside = (text: string) => text.slice(0, text.indexOf("<!-- bench:start -->")) + text.slice(text.indexOf("<!-- bench:end -->"));
    expect(outside(after)).toBe(outside(before));
    expect(after).toContain("### Summary");
    expect(after).toContain("### 1. In-process tiered cache vs bentocache and cache-manager");
  }, 450_000);
});
