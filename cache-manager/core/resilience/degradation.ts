/**
 * Degradation levels: what the cache still does when a dependency is down, decided in one place
 * so the read path, the write path, metrics and the dashboard agree.
 *
 * | level              | when (derived)                              | reads                                        | writes             |
 * | ------------------ | ------------------------------------------- | -------------------------------------------- | ------------------ |
 * | `normal`           | L2 breaker not open, origin healthy         | L1 → L2 → origin; loads fill L2 and L1       | L1, L2, origin     |
 * | `skip-l1`          | coherence stream lost past its bound        | L2 → origin; L1 filled but not read          | L1, L2, origin     |
 * | `l1-only`          | L2 breaker open, origin healthy             | L1 → origin; loads fill L1 only              | L1 and origin      |
 * | `read-only-stale`  | origin unhealthy (L2 up or down)            | L1 → L2, stale entries served; no origin     | refused            |
 * | `bypass-to-origin` | operator override only                      | origin only; nothing read from or filled in  | origin only        |
 * | `reject`           | operator override only                      | refused (503)                                | refused (503)      |
 *
 * - `skip-l1`: this instance has not heard the coherence stream for longer than
 *   `CACHE_COHERENCE_MAX_OUTAGE_MS` while L2 still answers (only the follow connection is cut),
 *   so its L1 may hold values other instances changed. Reads skip L1 until reading resumes and
 *   the reconnect's gap has cleared it; this is what bounds staleness on other instances.
 * - `l1-only`: L2 is unreachable, so each instance serves its own L1 and fills it from the
 *   origin. Instances can disagree until their L1 TTLs pass (coherence announcements travel
 *   through Redis too), which is why L1 TTLs are kept short. Cache writes reach only this
 *   instance's L1; write-behind, whose queue lives in Redis, must run as write-through.
 * - `read-only-stale`: the origin is failing, so nothing new can be loaded or written; any value
 *   still held, even past its TTL (within its grace period), beats an error. A miss is a miss.
 *   Even with L2 also down this is the level: the L2 breaker makes those reads fail fast.
 * - `bypass-to-origin`: for an operator who distrusts the cached data (a bad deploy wrote wrong
 *   values) but wants to keep serving. Writes go to the origin only, so the caches may hold
 *   older values when the override is lifted: flush or invalidate before returning to `normal`.
 * - `reject`: load shedding or maintenance; every request fails with `unavailable`.
 *
 * A half-open L2 breaker counts as up: the breaker itself limits the trial calls.
 */
import type { BreakerState } from "./breaker.ts";
import { ResilienceArgumentError } from "./errors.ts";

export const DEGRADATION_LEVELS = ["normal", "skip-l1", "l1-only", "read-only-stale", "bypass-to-origin", "reject"] as const;
export type DegradationLevel = (typeof DEGRADATION_LEVELS)[number];

export type RequestKind = "read" | "write";
export type Tier = "l1" | "l2" | "origin";
export type CacheTier = "l1" | "l2";

export interface DegradationInputs {
  /** The L2 circuit breaker's state. */
  l2Breaker: BreakerState;
  /** False while the origin is failing (its breaker open, or its health check red). */
  originHealthy: boolean;
  /** True while the coherence follower is past its outage bound (L1 may be stale). */
  coherenceLost?: boolean;
  /** A level an operator forces; `null` or absent: derive it. */
  override?: DegradationLevel | null;
}

/** What a request of one kind may do at one level. */
export interface AccessPlan {
  level: DegradationLevel;
  kind: RequestKind;
  /** False: refuse the request (`unavailable`) with `reason`. */
  allowed: boolean;
  /** Reads: tiers consulted, in order. Writes: tiers written. Empty when not allowed. */
  tiers: readonly Tier[];
  /** Reads: cache tiers filled with a value loaded from the origin. Empty for writes. */
  fill: readonly CacheTier[];
  /** Reads: a stale entry is served as an answer rather than only as a fallback. */
  serveStale: boolean;
  /** Why the request is refused, for the error message; absent when allowed. */
  reason?: string;
}

/** The level the inputs call for; an override wins. */
export function deriveLevel(inputs: DegradationInputs): DegradationLevel {
  if (inputs.override) return checkLevel(inputs.override);
  if (!inputs.originHealthy) return "read-only-stale";
  if (inputs.l2Breaker === "open") return "l1-only";
  if (inputs.coherenceLost) return "skip-l1";
  return "normal";
}

const PLANS: Record<DegradationLevel, Record<RequestKind, Omit<AccessPlan, "level" | "kind">>> = {
  normal: {
    read: { allowed: true, tiers: ["l1", "l2", "origin"], fill: ["l1", "l2"], serveStale: false },
    write: { allowed: true, tiers: ["l1", "l2", "origin"], fill: [], serveStale: false },
  },
  "skip-l1": {
    read: { allowed: true, tiers: ["l2", "origin"], fill: ["l1", "l2"], serveStale: false },
    write: { allowed: true, tiers: ["l1", "l2", "origin"], fill: [], serveStale: false },
  },
  "l1-only": {
    read: { allowed: true, tiers: ["l1", "origin"], fill: ["l1"], serveStale: false },
    write: { allowed: true, tiers: ["l1", "origin"], fill: [], serveStale: false },
  },
  "read-only-stale": {
    read: { allowed: true, tiers: ["l1", "l2"], fill: [], serveStale: true },
    write: { allowed: false, tiers: [], fill: [], serveStale: false, reason: "the cache is read-only while the origin is unavailable" },
  },
  "bypass-to-origin": {
    read: { allowed: true, tiers: ["origin"], fill: [], serveStale: false },
    write: { allowed: true, tiers: ["origin"], fill: [], serveStale: false },
  },
  reject: {
    read: { allowed: false, tiers: [], fill: [], serveStale: false, reason: "the cache is rejecting requests (operator override)" },
    write: { allowed: false, tiers: [], fill: [], serveStale: false, reason: "the cache is rejecting requests (operator override)" },
  },
};

const FROZEN = Object.fromEntries(
  DEGRADATION_LEVELS.map((level) => [
    level,
    {
      read: Object.freeze({ level, kind: "read", ...PLANS[level].read }),
      write: Object.freeze({ level, kind: "write", ...PLANS[level].write }),
    },
  ]),
) as Record<DegradationLevel, Record<RequestKind, AccessPlan>>;

/** What a request of `kind` may do at `level` (a frozen, shared object). */
export function planFor(level: DegradationLevel, kind: RequestKind): AccessPlan {
  return FROZEN[checkLevel(level)][kind];
}

export interface DegradationChange {
  from: DegradationLevel;
  to: DegradationLevel;
  inputs: Readonly<DegradationInputs>;
}

/**
 * Holds the current inputs and level, and tells listeners when the level changes (for the
 * `degradation` event, metrics and the dashboard).
 *
 * @example
 * const degradation = new DegradationPolicy();
 * l2Breaker.onStateChange(({ to }) => degradation.update({ l2Breaker: to }));
 * const plan = degradation.plan("read"); // plan.tiers: ["l1", "origin"] while L2 is open
 */
export class DegradationPolicy {
  private inputs: DegradationInputs;
  private current: DegradationLevel;
  private readonly listeners = new Set<(change: DegradationChange) => void>();

  constructor(initial: Partial<DegradationInputs> = {}) {
    this.inputs = { l2Breaker: "closed", originHealthy: true, coherenceLost: false, override: null, ...initial };
    this.current = deriveLevel(this.inputs);
  }

  get level(): DegradationLevel {
    return this.current;
  }

  /** Merges new inputs, re-derives the level and returns it. */
  update(inputs: Partial<DegradationInputs>): DegradationLevel {
    // Called on every read with what usually has not changed: no allocation then.
    let changed = false;
    for (const name in inputs) changed ||= inputs[name as keyof DegradationInputs] !== this.inputs[name as keyof DegradationInputs];
    if (!changed) return this.current;
    const merged = { ...this.inputs, ...inputs };
    const next = deriveLevel(merged);
    const from = this.current;
    this.inputs = merged;
    this.current = next;
    if (next !== from) {
      const change = { from, to: next, inputs: { ...this.inputs } };
      for (const listener of [...this.listeners]) {
        try {
          listener(change);
        } catch {
          // A listener's bug must not change the level.
        }
      }
    }
    return next;
  }

  /** Forces a level (`null` lifts the override). */
  setOverride(level: DegradationLevel | null): DegradationLevel {
    return this.update({ override: level === null ? null : checkLevel(level) });
  }

  plan(kind: RequestKind): AccessPlan {
    return planFor(this.current, kind);
  }

  /** Listens to level changes; returns a function that removes the listener. */
  onChange(listener: (change: DegradationChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function checkLevel(level: string): DegradationLevel {
  if (!(DEGRADATION_LEVELS as readonly string[]).includes(level)) {
    throw new ResilienceArgumentError(`unknown degradation level "${level}"; expected one of ${DEGRADATION_LEVELS.join(", ")}`);
  }
  return level as DegradationLevel;
}
