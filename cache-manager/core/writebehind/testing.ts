/** Test fixtures for the write-behind queue: queues on random keys that clean up after themselves, and a recording origin. */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { connectRedis } from "../../../lib/redis.ts";
import { WriteBehindQueue } from "./queue.ts";
import type { WriteBehindEvent, WriteBehindOptions, WriteFunction } from "./types.ts";

export const randomStreamKey = () => `t${randomBytes(5).toString("hex")}:wb`;

/** An origin that records every write attempt; `behaviour` may delay or throw. */
export function recordingOrigin(behaviour?: (key: string, value: unknown, attempt: number, signal: AbortSignal) => Promise<void> | void) {
  const attempts: { key: string; value: unknown; attempt: number }[] = [];
  const applied = new Map<string, unknown[]>();
  const write: WriteFunction = async (key, value, { attempt, signal }) => {
    attempts.push({ key, value, attempt });
    await behaviour?.(key, value, attempt, signal);
    applied.set(key, [...(applied.get(key) ?? []), value]);
  };
  return { write, attempts, applied, last: (key: string) => applied.get(key)?.at(-1) };
}

/** Builds queues with fast test timings; `closeAll()` stops every one of them and deletes their keys. */
export function queueFactory(redis: Redis) {
  const made: WriteBehindQueue[] = [];
  return {
    make(overrides: Partial<WriteBehindOptions> & Pick<WriteBehindOptions, "write">, events?: WriteBehindEvent[]) {
      const queue = new WriteBehindQueue({
        redis,
        blockingRedis: () => connectRedis(process.env.REDIS_URL!),
        streamKey: randomStreamKey(),
        consumer: "a",
        backoff: { minMs: 20, maxMs: 80 },
        claimIdleMs: 500,
        blockMs: 200,
        pollMs: 20,
        stopTimeoutMs: 2_000,
        onEvent: events ? (event) => events.push(event) : undefined,
        ...overrides,
      });
      made.push(queue);
      return queue;
    },
    async closeAll() {
      await Promise.all(made.map((queue) => queue.stop(500)));
      const keys = made.flatMap((queue) => Object.values(queue.keys));
      if (keys.length > 0) await redis.del(...keys);
      made.length = 0;
    },
  };
}

/** Resolves when `condition()` holds, polling; rejects with `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A promise with its resolve function, to hold an origin write open. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
