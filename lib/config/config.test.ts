import { describe, expect, it } from "vitest";
import { parseBytes } from "./kinds";
import { ConfigError, loadConfig, readConfig, SETTINGS, type Setting } from "./index";

describe("readConfig", () => {
  it("gives every setting its default when the environment is empty", () => {
    const { config, problems, warnings } = readConfig({});
    expect(problems).toEqual([]);
    expect(warnings).toEqual([]);
    expect(config.CACHE_L1_MAX_BYTES).toBe(64 * 1024 * 1024);
    expect(config.CACHE_DEFAULT_TTL_MS).toBe(300_000);
    expect(config.CACHE_L2_MODE).toBe("single");
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.CACHE_RATE_LIMIT_BURST).toBe(4_000);
    expect(config.WARMING_HEARTBEAT_MS).toBe(10_000);
  });

  it.each([
    ["CACHE_L1_MAX_BYTES", "64MiB", 67_108_864],
    ["CACHE_L1_MAX_BYTES", "64 MiB", 67_108_864],
    ["CACHE_L1_MAX_BYTES", "512KiB", 524_288],
    ["CACHE_L1_MAX_BYTES", "1GB", 1_000_000_000],
    ["CACHE_L1_MAX_BYTES", "2048", 2048],
    ["CACHE_DEFAULT_TTL_MS", "5m", 300_000],
    ["CACHE_DEFAULT_TTL_MS", "1m30s", 90_000],
    ["CACHE_DEFAULT_TTL_MS", "1500", 1500],
    ["CACHE_GRACE_MS", "0", 0],
    ["CACHET_ALERT_WINDOW_SECONDS", "2m", 120],
    ["CACHET_ALERT_WINDOW_SECONDS", "30", 30],
    ["CACHE_L1_MAX_ENTRIES", "100_000", 100_000],
    ["CACHE_RATE_LIMIT", "0.5", 0.5],
    ["CACHET_MONITOR_DISABLED", "1", true],
  ])("accepts %s=%s as %s", (name, text, value) => {
    const { config, problems } = readConfig({ [name]: text });
    expect(problems).toEqual([]);
    expect(config[name as keyof typeof config]).toBe(value);
  });

  it.each([
    ["CACHE_L1_MAX_BYTES", "lots", /^CACHE_L1_MAX_BYTES="lots": not a byte size; expected bytes as an integer or with a unit \(64MiB/],
    ["CACHE_L1_MAX_BYTES", "10", /below the minimum 1 KiB/],
    [
      "CACHE_DEFAULT_TTL_MS",
      "5 minutes",
      /^CACHE_DEFAULT_TTL_MS="5 minutes": not a duration; expected a duration: ms as a bare number, or with a unit \(500ms, 30s, 5m, 1h\)/,
    ],
    ["CACHE_DEFAULT_TTL_MS", "0", /below the minimum 1 ms/],
    ["CACHE_L2_MODE", "bogus", /^CACHE_L2_MODE="bogus": not one of them; expected one of single, cluster, ring$/],
    ["CACHE_L1_POLICY", "fifo", /expected one of lru, lfu, w-tinylfu/],
    ["PORT", "80000", /^PORT="80000": above the maximum 65,535; expected an integer from 0 to 65,535$/],
    ["REDIS_URL", "localhost:6379", /^REDIS_URL=<secret, 14 characters>: the scheme is not redis: or rediss:/],
    ["DATABASE_URL", "mysql://x", /^DATABASE_URL="mysql:\/\/x": the scheme is not postgres: or postgresql:/],
    ["CACHE_TOKENS", "reader:reader=abc", /^CACHE_TOKENS=<secret, 17 characters>: CACHE_TOKENS entry "reader": role must be one of viewer, operator, admin/],
    ["CACHET_SERVICE_URLS", "warming", /"warming" is not service=http:\/\/host:port/],
    ["CACHE_L2_NODES", "a,b", /L2 node "a" is not host:port/],
    ["CACHET_INTERNAL_SECRET", "short", /only 5 characters; expected at least 16 characters/],
    ["CACHE_ORIGINS_FILE", "/nonexistent/origins.json", /no such file/],
    ["LOG_LEVEL", "verbose", /expected one of trace, debug, info, warn, error/],
    ["CACHE_L3_KEY", "k1:c2hvcnQ=", /the key of "k1" decodes to 5 bytes, not 32/],
    ["CACHE_L3_KEY", `k1:${"A".repeat(43)}=,k1:${"B".repeat(43)}=`, /the key id "k1" appears twice/],
  ])("refuses %s=%s with one line naming it, the value and what is accepted", (name, text, message) => {
    const { problems } = readConfig({ [name]: text });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it("never prints a secret's value", () => {
    const { problems } = readConfig({ CACHE_TOKENS: "[not json s3cr3t", REDIS_URL: "http://user:s3cr3t@host", METRICS_TOKEN: "" });
    expect(problems).toHaveLength(2);
    expect(readConfig({ CACHE_TOKENS: "ci:operator:s3cr3t" }).problems.join("\n")).not.toContain("s3cr3t");
    expect(problems.join("\n")).not.toContain("s3cr3t");
  });

  it("reports every problem at once, in declaration order", () => {
    const { problems } = readConfig({ CACHE_L2_MODE: "bogus", PORT: "x", CACHE_DEFAULT_TTL_MS: "5 min" });
    expect(problems.map((p) => p.split("=")[0])).toEqual(["PORT", "CACHE_L2_MODE", "CACHE_DEFAULT_TTL_MS"]);
  });

  it.each([
    [{ CACHE_SOFT_TIMEOUT_MS: "5s", CACHE_HARD_TIMEOUT_MS: "1s" }, /CACHE_SOFT_TIMEOUT_MS=5000 must be below CACHE_HARD_TIMEOUT_MS=1000/],
    [{ CACHE_L2_MODE: "ring" }, /CACHE_L2_MODE=ring needs CACHE_L2_NODES/],
    [{ CACHE_L3: "on" }, /CACHE_L3=on needs CACHE_L3_KEY/],
    [{ WARMING_LEASE_MS: "300", WARMING_HEARTBEAT_MS: "1s" }, /WARMING_HEARTBEAT_MS=1000 must be below WARMING_LEASE_MS=300/],
  ])("checks settings that depend on each other: %o", (env, message) => {
    expect(readConfig(env).problems).toEqual([expect.stringMatching(message)]);
  });

  it("derives defaults from the settings they follow", () => {
    expect(readConfig({ CACHE_RATE_LIMIT: "10" }).config.CACHE_RATE_LIMIT_BURST).toBe(20);
    expect(readConfig({ WARMING_MAX_RUNNING: "9" }).config.WARMING_LOCAL_SLOTS).toBe(9);
    expect(readConfig({}).config.CACHE_L3).toBe("off");
    expect(readConfig({ CACHE_L3_KEY: `k1:${"A".repeat(43)}=` }).config.CACHE_L3).toBe("on");
    expect(readConfig({ CACHE_L3_KEY: `k1:${"A".repeat(43)}=`, CACHE_L3: "off" }).config.CACHE_L3).toBe("off");
  });

  it("warns about variables that look like settings but are not, suggesting the nearest", () => {
    const { warnings, problems } = readConfig({ CACHE_L1_MAXBYTES: "1", CACHET_SOMETHING: "x", HOME: "/root" });
    expect(problems).toEqual([]);
    expect(warnings).toEqual([
      "CACHE_L1_MAXBYTES is not a setting of this platform; did you mean CACHE_L1_MAX_BYTES? (it is ignored)",
      "CACHET_SOMETHING is not a setting of this platform (it is ignored)",
    ]);
  });

  it("loadConfig throws a ConfigError listing the problems", () => {
    expect(() => loadConfig({ CACHE_L2_MODE: "x" })).toThrow(ConfigError);
    expect(() => loadConfig({ CACHE_L2_MODE: "x" })).toThrow(/invalid configuration:\n {2}CACHE_L2_MODE="x"/);
  });

  it("declares every setting's default as a value its own parser accepts", () => {
    for (const [name, setting] of Object.entries(SETTINGS) as Array<[string, Setting<unknown>]>) {
      if (setting.default === undefined || typeof setting.default === "function") continue;
      const text = typeof setting.default === "boolean" ? (setting.default ? "1" : "0") : String(setting.default);
      expect(readConfig({ [name]: text }).problems, name).toEqual([]);
    }
  });
});

describe("parseBytes", () => {
  it.each([
    ["1.5KiB", 1536],
    ["0.5b", undefined],
    ["64 mib", 67_108_864],
    ["64XB", undefined],
    ["", undefined],
  ])("%s → %s", (text, value) => {
    expect(parseBytes(text)).toBe(value);
  });
});
