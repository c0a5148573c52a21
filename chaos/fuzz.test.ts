/**
 * The fuzzer against a host process serving every service: every exposed endpoint of the
 * manifest gets its hostile cases; only 2xx/4xx may come back, the process must survive, and its
 * memory must stay bounded.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { TEST_TOKENS } from "../infra/node-host/testing/tokens";
import { fuzz, HOSTILE_FRAMES, streamFuzz } from "./fuzz";
import { Lab, sleep, type Host } from "./harness";
import { exposedEndpoints, loadManifest } from "./requests";

const lab = new Lab();
let host: Host;

beforeAll(async () => {
  const redis = await lab.redis();
  host = await lab.host({ env: { REDIS_URL: redis.url, CACHE_L1_MAX_BYTES: String(16 * 1024 * 1024), CACHE_DEMO_LATENCY_MS: "0" } });
}, 180_000);
afterAll(() => lab.close(), 60_000);

describe("the fuzzer", () => {
  test("every exposed endpoint answers hostile input with a 4xx, never a 5xx; the process survives with bounded memory", async () => {
    const manifest = loadManifest();
    // Warm up first, so the RSS baseline includes the code paths' one-time allocations.
    await fuzz(host.url, manifest, { token: TEST_TOKENS.admin, only: (e) => e.path === "/api/cache/:key" });
    const rssBefore = host.rss();
    const report = await fuzz(host.url, manifest, { token: TEST_TOKENS.admin });
    await sleep(2_000);
    const rssAfter = host.rss();
    console.log(
      `fuzz: ${report.sent} requests to ${report.endpoints} endpoints; statuses ${JSON.stringify(report.byStatus)}; ` +
        `RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB`,
    );
    writeFileSync(join(tmpdir(), "cachet-fuzz-findings.json"), JSON.stringify(report, null, 1));
    expect(report.endpoints).toBe(exposedEndpoints(manifest).length);
    expect(report.sent).toBeGreaterThan(3_000);
    expect(report.findings).toEqual([]);
    expect(host.alive()).toBe(true);
    expect((await fetch(`${host.url}/api/health`)).status).toBe(200);
    expect(rssAfter - rssBefore).toBeLessThan(256 * 2 ** 20);
  }, 900_000);

  test("every streaming endpoint gets every hostile frame: refused with a WebSocket close code (or dropped by a streamOut), the process survives", async () => {
    const streaming = exposedEndpoints(loadManifest()).filter((e) => e.kind.startsWith("stream"));
    expect(streaming.length).toBeGreaterThan(0);
    for (const endpoint of streaming) {
      const results = await streamFuzz(`${host.url.replace(/^http/, "ws")}${endpoint.path}`, TEST_TOKENS.admin);
      console.log(`stream fuzz ${endpoint.path}: ${JSON.stringify(results)}`);
      expect(results.map((r) => r.what)).toEqual(HOSTILE_FRAMES.map((f) => f.what));
      // 1000/1005: our client closed after the frame was dropped; 1003/1007/1008/1009: the server
      // refused it; 1006: the server cut the connection while an oversized frame was still arriving.
      for (const { what, closeCode } of results) expect([1000, 1003, 1005, 1006, 1007, 1008, 1009], what).toContain(closeCode);
      for (const what of ["over the message limit", "empty arrays (expand ~20× when parsed)"])
        expect([1006, 1009], what).toContain(results.find((r) => r.what === what)?.closeCode);
    }
    expect(host.alive()).toBe(true);
    expect((await fetch(`${host.url}/api/health`)).status).toBe(200);
  }, 120_000);
});
