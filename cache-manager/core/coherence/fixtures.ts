/**
 * Test fixtures for the coherence bus: buses that record what they hear and clean up after
 * themselves (stopped, their streams deleted) when the test ends.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterEach } from "vitest";
import { connectRedis } from "../../../lib/redis.ts";
import { CoherenceBus, type CoherenceBusOptions, type EntryMeta, type GapInfo, type GapReason } from "./bus.ts";

export const redisUrl = (): string => process.env.REDIS_URL!;

export function randomStreamKey(): string {
  return `cachet:test:coherence:${randomBytes(5).toString("hex")}`;
}

/** Sub-millisecond wall clock, so propagation latency on one machine is measurable. */
export const preciseWallClock = { now: () => performance.timeOrigin + performance.now() };

/** What a following bus heard, in order. */
export class Recording {
  readonly keys: string[] = [];
  readonly metas: EntryMeta[] = [];
  readonly gaps: GapInfo[] = [];
  readonly flushes: EntryMeta[] = [];
  /** When set, `onInvalidate` waits for it (a slow or paused instance). */
  gate: Promise<void> | null = null;

  readonly handlers = {
    onInvalidate: async (keys: string[], meta: EntryMeta) => {
      this.keys.push(...keys);
      this.metas.push(meta);
      if (this.gate) await this.gate;
    },
    onFlush: (meta: EntryMeta) => {
      this.flushes.push(meta);
    },
    onGap: (_reason: GapReason, info: GapInfo) => {
      this.gaps.push(info);
    },
  };
}

/** Polls until `check` is true; fails with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup().catch(() => undefined);
});

/** Runs `cleanup` after the current test, even when it fails. */
export function onTestEnd(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** A plain connection for inspecting the stream, closed after the test. */
export function inspector(url = redisUrl()): Redis {
  const redis = connectRedis(url);
  redis.on("error", () => undefined);
  onTestEnd(async () => redis.disconnect());
  return redis;
}

export interface TestBus {
  bus: CoherenceBus;
  heard: Recording;
}

/**
 * A started bus on `streamKey` that records what it hears; stopped after the test, and the
 * stream deleted. `follow: false` gives an announce-only bus.
 */
export async function openBus(streamKey: string, options: Partial<CoherenceBusOptions> = {}, url = redisUrl()): Promise<TestBus> {
  const heard = new Recording();
  const bus = new CoherenceBus({ url, streamKey, stallGraceMs: 2_000, ...heard.handlers, ...options });
  onTestEnd(async () => {
    heard.gate = null;
    await bus.stop();
  });
  await bus.start();
  return { bus, heard };
}

/** Deletes `streamKey` after the test. */
export function dropStreamAfterTest(streamKey: string, url = redisUrl()): void {
  onTestEnd(async () => {
    const redis = connectRedis(url, { retryStrategy: () => null });
    redis.on("error", () => undefined);
    await redis.del(streamKey).finally(() => redis.disconnect());
  });
}

/** The id of the connection named `name` in CLIENT LIST, or undefined. */
export async function clientId(redis: Redis, name: string): Promise<string | undefined> {
  const list = (await redis.client("LIST")) as string;
  const line = list.split("\n").find((l) => l.includes(` name=${name} `));
  return line ? /\bid=(\d+)/.exec(line)?.[1] : undefined;
}
