/**
 * This process's monitor (monitoring/core/monitor.ts) wired to Redis and the service's database,
 * started when the service loads. Every monitoring process ticks and serves snapshots; the one
 * holding the leader lease in Redis also writes history and evaluates alerts, so running several
 * never doubles a point or an alert.
 */
import { randomUUID } from "node:crypto";
import log from "encore.dev/log";
import { readReports } from "../lib/metrics/report";
import { AlertStore } from "./core/alert-store";
import { HistoryStore } from "./core/history";
import { Monitor } from "./core/monitor";
import { encoreSql } from "../lib/sql";
import { redis } from "./config";
import { db } from "./db";

const LEADER_KEY = "cachet:monitoring:leader";
const LEADER_TTL_MS = 5_000;
const processId = `mon-${process.pid}-${randomUUID().slice(0, 6)}`;

/** Takes the lease when it is free, renews it when it is ours. */
const RENEW = `
local holder = redis.call("GET", KEYS[1])
if holder == false then return redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) and 1 or 0 end
if holder == ARGV[1] then redis.call("PEXPIRE", KEYS[1], ARGV[2]) return 1 end
return 0`;

export const sql = encoreSql(db);

export const historyStore = new HistoryStore(sql);
export const alertStore = new AlertStore(sql);

export const monitor = new Monitor({
  readReports: async () => (await readReports(redis())).reports,
  history: historyStore,
  alerts: alertStore,
  isLeader: async () => (await redis().eval(RENEW, 1, LEADER_KEY, processId, LEADER_TTL_MS)) === 1,
  // The window alert signals cover (default 60 s); tests shorten it to drive alerts quickly.
  alertWindowSeconds: Number(process.env.CACHET_ALERT_WINDOW_SECONDS) || undefined,
  onError: (error, where) => log.warn(`monitoring ${where} failed`, { error: error instanceof Error ? error.message : String(error) }),
});

if (process.env.CACHET_MONITOR_DISABLED !== "1") monitor.start();
