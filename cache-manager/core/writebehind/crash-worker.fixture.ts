/**
 * A write-behind consumer meant to be killed (crash.test.ts). It queues WB_KEYS keys (each written
 * twice, so coalescing is in play), starts consuming with slow origin writes into the Redis hash
 * WB_ORIGIN, and prints "writing <key>" as each origin write starts. The test SIGKILLs it mid-way.
 *
 * Run: REDIS_URL=... WB_STREAM=... WB_ORIGIN=... WB_KEYS=40 node --import tsx crash-worker.fixture.ts
 */
import { connectRedis } from "../../../lib/redis.ts";
import { WriteBehindQueue } from "./queue.ts";

const { REDIS_URL, WB_STREAM, WB_ORIGIN, WB_KEYS } = process.env;
if (!REDIS_URL || !WB_STREAM || !WB_ORIGIN || !WB_KEYS) throw new Error("set REDIS_URL, WB_STREAM, WB_ORIGIN and WB_KEYS");

const redis = connectRedis(REDIS_URL);
const queue = new WriteBehindQueue({
  redis,
  blockingRedis: () => connectRedis(REDIS_URL),
  streamKey: WB_STREAM,
  consumer: `doomed-${process.pid}`,
  concurrency: 4,
  claimIdleMs: 400,
  writeTimeoutMs: 300,
  pollMs: 20,
  write: async (key, value) => {
    process.stdout.write(`writing ${key}\n`);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await redis.hset(WB_ORIGIN, key, JSON.stringify(value));
  },
});

const count = Number(WB_KEYS);
for (const round of [1, 2]) {
  await Promise.all(Array.from({ length: count }, (_, i) => queue.enqueue(`item:${i}`, { i, round })));
}
process.stdout.write("enqueued\n");
await queue.start();
