import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Redis } from "ioredis";
import { startRedisCluster, type RedisClusterHandle } from "../../../infra/node-host/testing/redis-cluster.ts";
import { createClusterL2 } from "./cluster.ts";
import { registerL2ContractSuite, randomPrefix } from "./contract.ts";
import { keySlot } from "./slot.ts";

let cluster: RedisClusterHandle;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
});

afterAll(async () => {
  await cluster?.stop();
});

registerL2ContractSuite("cluster", (options) => createClusterL2({ nodes: cluster.nodes, ...options }));

describe("cluster mode", () => {
  test("keySlot agrees with CLUSTER KEYSLOT, hash tags included", async () => {
    const probe = new Redis(cluster.nodes[0]);
    const keys = ["foo", "", "{user:1}:profile", "{}x", "a{b}c{d}", "{", "ключ", ...Array.from({ length: 100 }, (_, i) => `cachet:v:k${i}`)];
    for (const key of keys) expect(keySlot(key), key).toBe(await probe.cluster("KEYSLOT", key));
    probe.disconnect();
  });

  test("keys spread over every master and nodeFor names the slot's owner", async () => {
    const store = await createClusterL2({ nodes: cluster.nodes, prefix: randomPrefix() });
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    await store.mset(keys.map((key) => ({ key, value: "v", ttlMs: 60_000 })));
    expect(store.nodes()).toHaveLength(3);
    const owners = new Set(keys.map((key) => store.nodeFor(store.keyspace.valueKey(key)).id));
    expect(owners.size).toBe(3);
    const key = store.keyspace.valueKey("k1");
    const owner = store.nodeFor(key);
    const direct = new Redis({ host: owner.host, port: owner.port });
    expect((await direct.get(key))?.toString()).toBe("v"); // no MOVED: the owner holds it
    direct.disconnect();
    await store.deleteMatching("*");
    await store.close();
  });

  test("keys sharing a hash tag stay in one slot and still batch", async () => {
    const store = await createClusterL2({ nodes: cluster.nodes, prefix: randomPrefix() });
    const keys = Array.from({ length: 50 }, (_, i) => `{cart:9}:item:${i}`);
    await store.mset(keys.map((key) => ({ key, value: key, ttlMs: 60_000 })));
    expect(new Set(keys.map((k) => keySlot(store.keyspace.valueKey(k)))).size).toBe(1);
    expect((await store.mget(keys)).map((v) => v?.toString())).toEqual(keys);
    expect(await store.deleteMatching("{cart:9}:*")).toMatchObject({ deleted: 50 });
    await store.close();
  });
});
