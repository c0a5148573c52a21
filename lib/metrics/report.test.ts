/** The report contract against a real Redis (the suite's redis-server). */
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, test } from "vitest";
import { connectRedis } from "../redis.ts";
import { parseReport, publishReport, readReports, REPORT_INDEX_KEY, reportKey, ReportFormatError, startReporter } from "./report.ts";

const redis = connectRedis(process.env.REDIS_URL!);
afterAll(() => redis.disconnect());

const content = (hits: number) => ({ counters: [{ name: "cache_hits", labels: { tier: "l1" }, value: hits }], gauges: [], sketches: [] });
const mine = async (service: string) => (await readReports(redis)).reports.filter((r) => r.service === service);

describe("metrics reports in Redis", () => {
  test("a published report is read back whole, and expires after three intervals", async () => {
    const service = `svc-${randomUUID().slice(0, 8)}`;
    await publishReport({ redis, service, instanceId: "a", intervalMs: 100, collect: () => content(42) });
    const [report] = await mine(service);
    expect(report).toMatchObject({ service, instanceId: "a", intervalMs: 100, counters: [{ name: "cache_hits", labels: { tier: "l1" }, value: 42 }] });
    expect(await redis.pttl(reportKey(service, "a"))).toBeLessThanOrEqual(300);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await mine(service)).toEqual([]);
  });

  test("a reporter publishes every interval; stop() withdraws the report at once", async () => {
    const service = `svc-${randomUUID().slice(0, 8)}`;
    let hits = 0;
    const reporter = startReporter({ redis, service, instanceId: "b", intervalMs: 50, collect: () => content(++hits) });
    await new Promise((resolve) => setTimeout(resolve, 220));
    const [report] = await mine(service);
    expect(report.counters[0].value).toBeGreaterThanOrEqual(3);
    await reporter.stop();
    expect(await mine(service)).toEqual([]);
    expect(await redis.zscore(REPORT_INDEX_KEY, `${service}:b`)).toBeNull();
  });

  test("a malformed report is rejected with its reason; the others are still read", async () => {
    const service = `svc-${randomUUID().slice(0, 8)}`;
    await publishReport({ redis, service, instanceId: "good", collect: () => content(1) });
    await redis.set(
      reportKey(service, "bad"),
      JSON.stringify({ service, instanceId: "bad", at: 1, intervalMs: 1000, counters: [{ name: "x y", value: 1 }] }),
      "PX",
      3000,
    );
    await redis.zadd(REPORT_INDEX_KEY, Date.now(), `${service}:bad`);
    const { reports, rejected } = await readReports(redis);
    expect(reports.filter((r) => r.service === service).map((r) => r.instanceId)).toEqual(["good"]);
    expect(rejected).toContainEqual({ instance: `${service}:bad`, reason: "counters[0].name must be a metric name" });
  });

  test.each([
    ["not JSON", "{", /must be JSON/],
    ["a missing instance id", JSON.stringify({ service: "s", at: 1, intervalMs: 1 }), /instanceId must be strings/],
    [
      "a non-finite value",
      JSON.stringify({ service: "s", instanceId: "i", at: 1, intervalMs: 1, gauges: [{ name: "g", value: "1" }] }),
      /gauges\[0\] \(g\)\.value must be a finite number/,
    ],
    [
      "a bad label name",
      JSON.stringify({ service: "s", instanceId: "i", at: 1, intervalMs: 1, counters: [{ name: "c", labels: { "a-b": "x" }, value: 1 }] }),
      /label name "a-b"/,
    ],
  ])("parseReport refuses %s", (_label, text, message) => {
    expect(() => parseReport(text)).toThrow(ReportFormatError);
    expect(() => parseReport(text)).toThrow(message);
  });
});
