import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, expect, test } from "vitest";
import { connectRedis } from "../../../lib/redis.ts";
import { queueFactory, randomStreamKey, waitUntil } from "./testing.ts";

const WORKER = fileURLToPath(new URL("./crash-worker.fixture.ts", import.meta.url));
const KEYS = 40;

let redis: Redis;
let queues: ReturnType<typeof queueFactory>;
beforeAll(() => {
  redis = connectRedis(process.env.REDIS_URL!);
  queues = queueFactory(redis);
});
afterAll(async () => {
  await queues.closeAll();
  await redis.quit();
});

test("a consumer process killed with SIGKILL mid-way loses nothing: another consumer applies every latest value", async () => {
  const streamKey = randomStreamKey();
  const originKey = `${streamKey}:origin`;
  const child = spawn(process.execPath, ["--import", "tsx", WORKER], {
    cwd: fileURLToPath(new URL("../../..", import.meta.url)),
    env: { ...process.env, WB_STREAM: streamKey, WB_ORIGIN: originKey, WB_KEYS: String(KEYS) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));

  try {
    await waitUntil("the worker has started 6 origin writes", () => (output.match(/^writing /gm) ?? []).length >= 6, 20_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}; worker output:\n${output}`, { cause: error });
  }
  child.kill("SIGKILL");
  expect(await exited).toBe("SIGKILL");
  const appliedByWorker = await redis.hlen(originKey);
  expect(appliedByWorker).toBeLessThan(KEYS);

  const survivor = queues.make({
    streamKey,
    consumer: "survivor",
    claimIdleMs: 400,
    write: async (key, value) => void (await redis.hset(originKey, key, JSON.stringify(value))),
  });
  const before = await survivor.stats();
  expect(before.inFlight).toBeGreaterThan(0);
  expect(before.depth).toBe(KEYS - before.applied);
  await survivor.start();
  await waitUntil("the survivor drained the queue", async () => (await survivor.stats()).depth === 0);

  const origin = await redis.hgetall(originKey);
  expect(Object.keys(origin)).toHaveLength(KEYS);
  for (let i = 0; i < KEYS; i++) expect(JSON.parse(origin[`item:${i}`])).toEqual({ i, round: 2 });
  await redis.del(originKey);
});
