/**
 * The Keyv store against Keyv's own compliance suite (@keyv/test-suite), run on a real platform
 * host, then under cache-manager v7, as applications use it.
 */
import keyvTestSuite, { keyvIteratorTests } from "@keyv/test-suite";
import { createCache } from "cache-manager";
import Keyv from "keyv";
import * as vitest from "vitest";
import { startHostProcess, type HostProcess } from "../../infra/node-host/testing/hosts.ts";
import { TEST_TOKENS } from "../../infra/node-host/testing/tokens.ts";
import { CachetStore } from "./src/index.ts";

const { afterAll, beforeAll, describe, expect, test } = vitest;
let host: HostProcess;
const prefix = `keyv${process.pid}:`;

beforeAll(async () => {
  // its own Pub/Sub streams: other test files publish invalidations on the shared Redis too
  host = await startHostProcess({ env: { CACHE_DEMO_LATENCY_MS: "0", CACHET_KEY_PREFIX: `${prefix}host:` } });
}, 120_000);
afterAll(() => host?.stop());

const store = () => new CachetStore({ baseUrl: host.url, token: TEST_TOKENS.operator, prefix });

describe("Keyv's compliance suite", () => {
  keyvTestSuite(vitest, Keyv, store);
  keyvIteratorTests(vitest, Keyv, store);
});

describe("cache-manager v7 on the platform", () => {
  test("wrap() loads once, then serves from the platform until the key is invalidated", async () => {
    const cache = createCache({ stores: [new Keyv({ store: store(), namespace: "cm" })] });
    let loads = 0;
    const load = async () => ({ n: ++loads });
    expect(await cache.wrap("answer", load, 60_000)).toEqual({ n: 1 });
    expect(await cache.wrap("answer", load, 60_000)).toEqual({ n: 1 });
    // the platform holds it under the store's prefix, Keyv's namespace and the key
    const direct = await fetch(`${host.url}/api/cache/${encodeURIComponent(`${prefix}cm:answer`)}`, {
      headers: { authorization: `Bearer ${TEST_TOKENS.operator}` },
    });
    expect(direct.status).toBe(200);
    await cache.del("answer");
    expect(await cache.wrap("answer", load, 60_000)).toEqual({ n: 2 });
  });

  test("a namespace-limited token reaches its namespace only", async () => {
    // the scoped test token is an operator limited to `product:`
    const limited = new Keyv({ store: new CachetStore({ baseUrl: host.url, token: TEST_TOKENS.scoped, prefix: "product:keyv:" }) });
    await limited.set("a", 1);
    expect(await limited.get("a")).toBe(1);
    const outside = new Keyv({ store: new CachetStore({ baseUrl: host.url, token: TEST_TOKENS.scoped, prefix }), throwOnErrors: true });
    await expect(outside.set("a", 1)).rejects.toThrow(/403/);
  });
});
