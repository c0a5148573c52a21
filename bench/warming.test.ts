/**
 * Smoke test of the warming benchmark: runs `bench/warming.ts --tiny` end to end (its own Redis,
 * PGlite, the engine) into a temporary directory and checks the shape of what it prints and
 * writes, and that figures measured independently agree (the origin's own load counter against
 * the replay's hit tally and the engine's warmed-key count). No timing assertion, and no absolute
 * hit ratio: a tiny run's figures mean little; the comparisons the benchmark exists for hold even so.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import type { WarmingBenchResults } from "./warming";

const appRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "cachet-warming-bench-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run bench:warming -- --tiny", () => {
  test("prints the three tables and writes a results file with every figure", async () => {
    const { stdout } = await promisify(execFile)(join(appRoot, "node_modules/.bin/tsx"), ["bench/warming.ts", "--tiny", `--out-dir=${dir}`], {
      cwd: appRoot,
      timeout: 110_000,
      maxBuffer: 8 * 1024 * 1024,
    });
    expect(stdout).toContain("1. Warming throughput");
    expect(stdout).toContain("2. Zipf replay");
    expect(stdout).toContain("3. Back to 90% of the previous hit ratio");

    const files = readdirSync(dir).filter((f) => /^warming-\d{4}-\d{2}-\d{2}-tiny\.json$/.test(f));
    expect(files).toHaveLength(1);
    const results = JSON.parse(readFileSync(join(dir, files[0]), "utf8")) as WarmingBenchResults;
    expect(results).toMatchObject({ schema: 1, kind: "warming", mode: "tiny" });
    expect(results.machine.node).toBe(process.version);
    expect(results.problems).toEqual([]);

    expect(results.tables).toHaveLength(3);
    for (const table of results.tables) {
      expect(table.rows.length).toBeGreaterThan(0);
      for (const row of table.rows) expect(row).toHaveLength(table.header.length);
    }

    // 1: the engine paths and the bare path, each warming every key.
    expect(results.throughput.rows.map((r) => r.path)).toEqual(["engine: origin job (job defaults)", "engine: origin job", "bare store path (no engine)"]);
    for (const row of results.throughput.rows) {
      expect(row.keysPerSec).toBeGreaterThan(0);
      const [found, sampled] = row.verified.split("/").map(Number);
      expect(found).toBe(sampled);
    }

    // 2: plain, then each hot variant; the hot ones ran the job and loaded from the origin.
    const [plain, ...hot] = results.hot.rows;
    expect(plain).toMatchObject({ topN: null, warmingOriginLoads: 0, warmingRuns: 0, errors: 0 });
    expect(hot.length).toBeGreaterThan(0);
    for (const row of [plain, ...hot]) {
      expect(row.hitRatio).toBeGreaterThan(0);
      expect(row.hitRatio).toBeLessThan(1);
      // Readers load from the origin once per miss, less the few misses that share a load with a
      // concurrent one (16 requests in flight): the origin's counter against the replay's tally.
      const misses = Math.round(row.requests * (1 - row.hitRatioAll));
      expect(row.readerOriginLoads).toBeLessThanOrEqual(misses);
      expect(row.readerOriginLoads).toBeGreaterThanOrEqual(misses * 0.95);
    }
    for (const row of hot) {
      expect(row.warmingRuns).toBeGreaterThan(0);
      expect(row.warmingOriginLoads).toBeGreaterThan(0);
      // Every key the engine says it warmed was one origin load during its ticks, and no more.
      expect(row.warmingOriginLoads).toBe(row.warmedKeys);
      expect(row.errors).toBe(0);
    }

    // 3: without and with the snapshot restore.
    const [cold, restored] = results.flush.rows;
    expect(cold).toMatchObject({ variant: "no restore", restoreMs: null, snapshot: null, errors: 0 });
    expect(restored.variant).toMatch(/^snapshot restore/);
    expect(restored.snapshot!.keys).toBeGreaterThan(0);
    expect(restored.snapshot!.compressedBytes).toBeGreaterThan(0);
    expect(restored.restoreMs).toBeGreaterThan(0);
    for (const row of [cold, restored]) {
      expect(row.blocks.length).toBeGreaterThan(0);
      expect(row.requestsToRecover).toBeGreaterThan(0);
    }
    // The same requests replayed after the same flush: the flush costs hits, the restore gives
    // them back at once, so the restored run recovers sooner (or as soon).
    expect(cold.firstBlockAfter).toBeLessThan(cold.hitRatioBefore);
    expect(restored.firstBlockAfter).toBeGreaterThan(cold.firstBlockAfter);
    expect(restored.recovered).toBe(true);
    expect(restored.requestsToRecover).toBeLessThanOrEqual(cold.requestsToRecover);
  }, 120_000);
});
