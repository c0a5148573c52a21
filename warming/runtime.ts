/**
 * This process's warming engine, built once: the repository on the service's database, the
 * cache port on cache-manager's typed client, the settings from the environment, and the
 * metrics reporter. Importing this module starts the engine (queue polling and lease checks),
 * as the service's endpoint files do when the service starts.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import log from "encore.dev/log";
import { cache_manager } from "~encore/clients";
import { systemClock } from "../lib/clock";
import { WarmingEngine, type CachePort } from "./core/engine";
import { encoreSql } from "../lib/sql";
import { WarmingRepository } from "./core/repository";
import { redis, warmingSettings } from "./config";
import { db } from "./db";
import { startWarmingMetrics, warmingMetrics } from "./metrics";

const sql = encoreSql(db);

const cachePort: CachePort = {
  async originKeys(namespace, cursor, limit) {
    const page = await cache_manager.originKeys({ namespace, limit, ...(cursor === null ? {} : { cursor }) });
    return { keys: page.keys, cursor: page.cursor ?? null };
  },
  async originLoad(keys) {
    return (await cache_manager.originLoad({ keys })).entries;
  },
  async store(entries) {
    await cache_manager.store({ entries });
  },
  async hotKeys(limit) {
    return (await cache_manager.hotKeysWithTtl({ limit })).keys;
  },
  async peek(keys, withValues) {
    return (await cache_manager.peek({ keys, values: withValues })).entries;
  },
  async restoreFromL3(pattern, cursor, limit) {
    const page = await cache_manager.l3Restore({ pattern, limit, ...(cursor === null ? {} : { cursor }) });
    return { restored: page.restored, skipped: page.skipped, cursor: page.cursor ?? null };
  },
};

export const workerId = `wk-${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
export const repository = new WarmingRepository(sql);

let engine: WarmingEngine | undefined;

/** The engine of this process, started on first use. */
export function warming(): WarmingEngine {
  if (!engine) {
    const settings = warmingSettings();
    engine = new WarmingEngine({
      repo: repository,
      cache: cachePort,
      clock: systemClock,
      workerId,
      ...settings,
      onEvent: (event) => {
        warmingMetrics.record(event);
        if (event.type === "problem") log.warn(event.message, { worker: workerId });
        if (event.type === "reaped") log.warn("failed runs whose worker stopped renewing its lease", { runs: event.runIds.join(","), worker: workerId });
      },
    });
    engine.start();
    startWarmingMetrics({ redis: redis(), instanceId: workerId, engine: () => engine, repo: repository });
  }
  return engine;
}

warming();
