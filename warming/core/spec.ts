/**
 * What a warming job is, and the validation of what callers send: every problem is reported in
 * a message that says which field to fix and how.
 */
import { GlobError, literalPrefix, validateGlob } from "../../lib/glob.ts";
import { listOf } from "../../lib/literal-union.ts";
import { InvalidKeyError, MAX_TTL_SECONDS, validateKeys } from "../../lib/validation.ts";
import { WarmingInputError } from "./errors.ts";
import { parseSchedule } from "./schedule.ts";

export type SourceType = "keys" | "origin" | "hot" | "snapshot" | "l3";
export const SOURCE_TYPES = listOf<SourceType>()("keys", "origin", "hot", "snapshot", "l3");

export const LIMITS = {
  nameLength: 100,
  /** Keys of a `keys` source, a trigger or a rewarm. */
  explicitKeys: 10_000,
  batchSize: 1_000,
  concurrency: 32,
  /** Keys an `origin` source lists at most. */
  originKeys: 1_000_000,
  hotTopN: 1_000,
  snapshotTopN: 10_000,
  historyDays: 30,
  ttlSeconds: MAX_TTL_SECONDS,
} as const;

export const DEFAULTS = {
  priority: 5,
  batchSize: 100,
  concurrency: 4,
  originLimit: 100_000,
  hotTopN: 100,
  refreshAheadSeconds: 60,
  lookaheadMinutes: 15,
  windowMinutes: 15,
  historyDays: 7,
  snapshotTopN: 1_000,
} as const;

/**
 * Where a job's keys come from. One flat shape (not a union) so that every field is visible in
 * the API schema; each type reads the fields listed next to it.
 */
export interface SourceSpec {
  type: SourceType;
  /** keys: the keys to warm (1..10,000). */
  keys?: string[];
  /** origin: list at most this many keys of the namespace (default 100,000). */
  limit?: number;
  /** hot: how many hot keys to consider (default 100); snapshot save: how many to save (default 1,000). */
  topN?: number;
  /** hot: refresh hot keys whose TTL ends within this many seconds, or that expired (default 60). */
  refreshAheadSeconds?: number;
  /** hot: predict the keys that were hot this many minutes from now on previous days (default 15). */
  lookaheadMinutes?: number;
  /** hot: half-width of that time-of-day window in minutes (default 15). */
  windowMinutes?: number;
  /** hot: how many previous days of observations to use (default 7, at most 30). */
  days?: number;
  /** snapshot: "save" the hottest values to Postgres, or "restore" the latest snapshot into the cache. */
  action?: "save" | "restore";
  /** snapshot restore: a specific snapshot instead of the latest one of the namespace. */
  snapshotId?: number;
  /** l3: the Redis glob of the keys to restore from the L3 backup tier into L2 (inside `namespace` when one is set). */
  pattern?: string;
}

/** A job as callers send it (POST; PUT sends any subset). */
export interface JobInput {
  name?: string;
  enabled?: boolean;
  /** 5-field cron; "" or absent = run by trigger only. */
  schedule?: string;
  /** IANA time zone of the schedule (default "UTC"). */
  timeZone?: string;
  source?: SourceSpec;
  /** Key prefix ending in ":" (e.g. "product:"); required by the origin source. */
  namespace?: string;
  /** 1 (lowest) to 10 (highest), default 5. */
  priority?: number;
  /** Keys per batch, 1..1,000 (default 100). */
  batchSize?: number;
  /** Batches in flight at once for one run, 1..32 (default 4). */
  concurrency?: number;
  /** TTL of the warmed entries; the cache's default when absent. */
  ttlSeconds?: number;
}

/** A validated job definition. */
export interface JobDefinition {
  name: string;
  enabled: boolean;
  schedule: string | null;
  timeZone: string;
  source: SourceSpec;
  namespace: string | null;
  priority: number;
  batchSize: number;
  concurrency: number;
  ttlSeconds: number | null;
}

/** What a run executes: a copy of the job's settings when it was enqueued. */
export interface RunSpec {
  source: SourceSpec;
  namespace: string | null;
  batchSize: number;
  concurrency: number;
  ttlSeconds: number | null;
}

const fail = (message: string): never => {
  throw new WarmingInputError(message);
};

function wholeNumber(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(`"${field}" must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

/** Throws unless `namespace` is a key prefix ending in ":" without spaces or glob characters. */
export function validateNamespace(namespace: unknown, field = "namespace"): string {
  if (typeof namespace !== "string" || namespace.length < 2 || !namespace.endsWith(":")) {
    fail(`"${field}" must be a key prefix ending in ":", e.g. "product:", got ${JSON.stringify(namespace)}`);
  }
  const ns = namespace as string;
  if (ns.length > 128) fail(`"${field}" is ${ns.length} characters long; keep it to 128`);
  if (/[\s*?[\]\\{}]/.test(ns)) fail(`"${field}" ${JSON.stringify(ns)} must not contain whitespace or the characters * ? [ ] \\ { }`);
  return ns;
}

/**
 * Validates a key list: 1..10,000 valid keys, all inside `namespace` when one is given.
 * Duplicates are dropped, order kept.
 */
export function validateKeyList(keys: unknown, field: string, namespace: string | null): string[] {
  if (!Array.isArray(keys) || keys.length === 0) fail(`"${field}" must be a non-empty array of keys`);
  const list = keys as unknown[];
  if (list.length > LIMITS.explicitKeys) fail(`"${field}" holds ${list.length} keys; at most ${LIMITS.explicitKeys} are allowed`);
  try {
    validateKeys(list as string[], field);
  } catch (error) {
    if (error instanceof InvalidKeyError) fail(error.message);
    throw error;
  }
  list.forEach((key, i) => {
    if (namespace && !(key as string).startsWith(namespace))
      fail(`${field}[${i}] "${key as string}" is outside the namespace "${namespace}": keys must start with it`);
  });
  return [...new Set(list as string[])];
}

/**
 * The `l3` source's key pattern: a valid Redis glob (`lib/glob.ts`), and inside the job's
 * namespace when it has one (its literal prefix starts with the namespace), so a namespace-limited
 * job cannot restore another namespace's keys.
 */
function validateL3Pattern(pattern: unknown, namespace: string | null): string {
  if (typeof pattern !== "string" || pattern === "") {
    fail(`the "l3" source restores the keys matching "source.pattern": set it to a Redis glob, e.g. "${namespace ?? "product:"}*"`);
  }
  try {
    validateGlob(pattern as string);
  } catch (error) {
    if (error instanceof GlobError) fail(`"source.pattern": ${error.message}`);
    throw error;
  }
  if (namespace && !literalPrefix(pattern as string).startsWith(namespace)) {
    fail(`"source.pattern" ${JSON.stringify(pattern)} reaches outside the namespace "${namespace}": start it with "${namespace}", e.g. "${namespace}*"`);
  }
  return pattern as string;
}

export function validateSource(source: unknown, namespace: string | null): SourceSpec {
  if (typeof source !== "object" || source === null || Array.isArray(source)) {
    return fail(`"source" must be an object such as {"type": "keys", "keys": [...]}; types: ${SOURCE_TYPES.join(", ")}`);
  }
  const s = source as SourceSpec;
  if (!SOURCE_TYPES.includes(s.type)) fail(`"source.type" must be one of ${SOURCE_TYPES.join(", ")}, got ${JSON.stringify(s.type)}`);
  switch (s.type) {
    case "keys":
      return { type: "keys", keys: validateKeyList(s.keys, "source.keys", namespace) };
    case "origin":
      if (!namespace) fail('the "origin" source lists the keys of a namespace: set "namespace", e.g. "product:"');
      return { type: "origin", limit: s.limit === undefined ? DEFAULTS.originLimit : wholeNumber(s.limit, "source.limit", 1, LIMITS.originKeys) };
    case "hot":
      return {
        type: "hot",
        topN: s.topN === undefined ? DEFAULTS.hotTopN : wholeNumber(s.topN, "source.topN", 1, LIMITS.hotTopN),
        refreshAheadSeconds:
          s.refreshAheadSeconds === undefined ? DEFAULTS.refreshAheadSeconds : wholeNumber(s.refreshAheadSeconds, "source.refreshAheadSeconds", 0, 86_400),
        lookaheadMinutes: s.lookaheadMinutes === undefined ? DEFAULTS.lookaheadMinutes : wholeNumber(s.lookaheadMinutes, "source.lookaheadMinutes", 0, 720),
        windowMinutes: s.windowMinutes === undefined ? DEFAULTS.windowMinutes : wholeNumber(s.windowMinutes, "source.windowMinutes", 1, 720),
        days: s.days === undefined ? DEFAULTS.historyDays : wholeNumber(s.days, "source.days", 0, LIMITS.historyDays),
      };
    case "snapshot": {
      if (s.action !== "save" && s.action !== "restore")
        fail(`"source.action" must be "save" or "restore" for a snapshot source, got ${JSON.stringify(s.action)}`);
      if (s.action === "save") {
        return {
          type: "snapshot",
          action: "save",
          topN: s.topN === undefined ? DEFAULTS.snapshotTopN : wholeNumber(s.topN, "source.topN", 1, LIMITS.snapshotTopN),
        };
      }
      return {
        type: "snapshot",
        action: "restore",
        ...(s.snapshotId === undefined ? {} : { snapshotId: wholeNumber(s.snapshotId, "source.snapshotId", 1, Number.MAX_SAFE_INTEGER) }),
      };
    }
    case "l3":
      return { type: "l3", pattern: validateL3Pattern(s.pattern, namespace) };
  }
  return fail("unreachable");
}

/**
 * Validates a full job (POST), or `patch` applied over `current` (PUT: fields left out keep
 * their value; `schedule: ""` removes the schedule).
 */
export function validateJob(patch: JobInput, current?: JobDefinition): JobDefinition {
  if (typeof patch !== "object" || patch === null) fail("the body must be a JSON object describing the job");
  const pick = <K extends keyof JobInput>(key: K) => (patch[key] !== undefined ? patch[key] : current?.[key as keyof JobDefinition]);

  const name = pick("name");
  if (typeof name !== "string" || name.trim() === "") fail('"name" is required: a short unique name such as "products-nightly"');
  if ((name as string).length > LIMITS.nameLength) fail(`"name" must be at most ${LIMITS.nameLength} characters`);

  const enabled = pick("enabled") ?? true;
  if (typeof enabled !== "boolean") fail(`"enabled" must be true or false`);

  const rawNamespace = pick("namespace");
  const namespace = rawNamespace === undefined || rawNamespace === null || rawNamespace === "" ? null : validateNamespace(rawNamespace);

  const timeZone = (pick("timeZone") as string | undefined) ?? "UTC";
  const rawSchedule = pick("schedule") as string | null | undefined;
  const schedule = rawSchedule === undefined || rawSchedule === null || rawSchedule.trim() === "" ? null : rawSchedule;
  let normalizedSchedule: string | null = null;
  let zone = timeZone;
  try {
    if (schedule !== null) {
      const parsed = parseSchedule(schedule, timeZone);
      normalizedSchedule = parsed.cron;
      zone = parsed.timeZone;
    } else {
      zone = parseSchedule("0 0 * * *", timeZone).timeZone;
    }
  } catch (error) {
    // The same messages as the preview endpoint, with the job's field names.
    fail((error as Error).message.replace(/^"cron"/, '"schedule"').replace(/^"tz"/, '"timeZone"'));
  }

  const source = validateSource(patch.source !== undefined ? patch.source : current?.source, namespace);
  const priority = pick("priority") === undefined ? DEFAULTS.priority : wholeNumber(pick("priority"), "priority", 1, 10);
  const batchSize = pick("batchSize") === undefined ? DEFAULTS.batchSize : wholeNumber(pick("batchSize"), "batchSize", 1, LIMITS.batchSize);
  const concurrency = pick("concurrency") === undefined ? DEFAULTS.concurrency : wholeNumber(pick("concurrency"), "concurrency", 1, LIMITS.concurrency);
  const rawTtl = pick("ttlSeconds");
  let ttlSeconds = rawTtl === undefined || rawTtl === null ? null : wholeNumber(rawTtl, "ttlSeconds", 1, LIMITS.ttlSeconds);
  if (source.type === "l3") {
    // Restored entries keep the expiry they have in L3: a TTL sent with the job is an error, one
    // the job had before it changed to this source is dropped.
    if (patch.ttlSeconds !== undefined && patch.ttlSeconds !== null) {
      fail('"ttlSeconds" does not apply to the "l3" source: restored entries keep the expiry they have in L3; leave it out');
    }
    ttlSeconds = null;
  }

  return {
    name: (name as string).trim(),
    enabled: enabled as boolean,
    schedule: normalizedSchedule,
    timeZone: zone,
    source,
    namespace,
    priority,
    batchSize,
    concurrency,
    ttlSeconds,
  };
}

export function runSpecOf(job: JobDefinition): RunSpec {
  return { source: job.source, namespace: job.namespace, batchSize: job.batchSize, concurrency: job.concurrency, ttlSeconds: job.ttlSeconds };
}
