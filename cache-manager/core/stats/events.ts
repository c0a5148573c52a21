/**
 * Typed cache events. The core emits; metrics, hot-key statistics, logs and the dashboard's live
 * stream subscribe. The core never knows who listens, and nothing is computed for nobody.
 *
 * - Cheap when unobserved: `emit` on an event without listeners is one property read and one
 *   length check. Where building the payload costs something, guard it with `has(name)`.
 * - Listeners run synchronously, in subscription order, on a snapshot of the listener list (so
 *   subscribing or unsubscribing during an emit takes effect from the next emit). A listener that
 *   throws cannot break the cache operation that emitted: the error goes to `onListenerError`
 *   (default: counted in `listenerErrors` and dropped).
 * - Payloads may carry the raw cache key (hot-key statistics need it). Metrics must not use it as
 *   a label: group keys first (by namespace or pattern) to bound label cardinality.
 *
 * @example
 * const events = createCacheEvents();
 * const off = events.on("hit", ({ tier }) => hits.inc({ tier }));
 * if (events.has("load")) events.emit("load", { key, ms: performance.now() - started, ok: true });
 * off();
 */
import type { BreakerState } from "../resilience/breaker.ts";
import type { DegradationLevel } from "../resilience/degradation.ts";
import { listOf } from "../../../lib/literal-union.ts";

/** The tiers that answer reads from a cache (L3: the durable backup store, consulted after L2). */
export type CacheTierName = "l1" | "l2" | "l3";
export const CACHE_TIERS = listOf<CacheTierName>()("l1", "l2", "l3");

/** Every cache event and its payload. */
export interface CacheEventMap {
  hit: { key: string; tier: CacheTierName };
  miss: { key: string };
  /** A read finished: where its value came from and how long it took (request latency by tier). */
  request: { key: string; source: CacheTierName | "origin"; ms: number };
  /**
   * Several reads answered by one tier at once, `ms` for the lot (a batch get's fresh L1 hits):
   * stands for a `hit` and a `request` of `ms / keys.length` for each key, in one event, so that a
   * listener does per-batch work (one clock read, one histogram update) where it can. A listener
   * of `hit` or `request` that must see every read listens to `hits` too.
   */
  hits: { keys: readonly string[]; tier: CacheTierName; ms: number };
  /** An origin load finished (`ok: false`: it failed or timed out). */
  load: { key: string; ms: number; ok: boolean };
  set: { key: string };
  /**
   * A value loaded from the origin went to L2 through its fill fence: `stored`, or refused
   * because the key changed (deleted, written, invalidated) after the load began.
   */
  fill: { key: string; stored: boolean };
  delete: { key: string };
  /** `type` is a stable error code (e.g. `E_L2_UNAVAILABLE`), safe to use as a label. */
  error: { type: string; key?: string; error?: unknown };
  evict: { tier: CacheTierName; reason: string; key?: string };
  /** A stale value was served (soft timeout, origin failure, read-only-stale level). */
  "stale-served": { key: string; reason?: string };
  breaker: { name: string; state: BreakerState };
  degradation: { level: DegradationLevel; from?: DegradationLevel };
}

export type CacheEventName = keyof CacheEventMap;

type Listener<P> = (payload: P) => void;
type AnyListener<M> = <K extends keyof M>(name: K, payload: M[K]) => void;

export interface EventBusOptions {
  /** Hears errors thrown by listeners; default: drop them (they are counted). */
  onListenerError?: (error: unknown, event: string) => void;
}

/**
 * A synchronous, typed event emitter over an event map `M` (event name → payload type).
 * `CacheEvents` is the one the cache uses; the class is generic so other services can reuse it.
 */
export class TypedEventBus<M extends { [K in keyof M]: object }> {
  /** Copy-on-write listener arrays: emit iterates without copying. */
  private listeners: { [K in keyof M]?: readonly Listener<M[K]>[] } = {};
  private anyListeners: readonly AnyListener<M>[] = [];
  private readonly onListenerError?: (error: unknown, event: string) => void;
  /** Errors thrown by listeners since construction. */
  listenerErrors = 0;

  constructor(options: EventBusOptions = {}) {
    this.onListenerError = options.onListenerError;
  }

  /** Subscribes to one event; returns a function that unsubscribes (idempotent). */
  on<K extends keyof M>(name: K, listener: Listener<M[K]>): () => void {
    this.listeners[name] = [...(this.listeners[name] ?? []), listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const remaining = withoutOne(this.listeners[name] ?? [], listener);
      if (remaining.length > 0) this.listeners[name] = remaining;
      else delete this.listeners[name];
    };
  }

  /** Subscribes to one event for its next emit only. */
  once<K extends keyof M>(name: K, listener: Listener<M[K]>): () => void {
    const off = this.on(name, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Subscribes to every event (e.g. a per-second stats flusher, a live stream). */
  onAny(listener: AnyListener<M>): () => void {
    this.anyListeners = [...this.anyListeners, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.anyListeners = withoutOne(this.anyListeners, listener);
    };
  }

  /** True when emitting `name` would reach a listener. */
  has(name: keyof M): boolean {
    return this.listeners[name] !== undefined || this.anyListeners.length > 0;
  }

  emit<K extends keyof M>(name: K, payload: M[K]): void {
    const listeners = this.listeners[name];
    if (listeners) {
      for (const listener of listeners) {
        try {
          listener(payload);
        } catch (error) {
          this.report(error, name);
        }
      }
    }
    if (this.anyListeners.length > 0) {
      for (const listener of this.anyListeners) {
        try {
          listener(name, payload);
        } catch (error) {
          this.report(error, name);
        }
      }
    }
  }

  /** Drops every listener. */
  clear(): void {
    this.listeners = {};
    this.anyListeners = [];
  }

  private report(error: unknown, name: keyof M): void {
    this.listenerErrors++;
    try {
      this.onListenerError?.(error, String(name));
    } catch {
      // The error handler failing must not break the emitter either.
    }
  }
}

/** A copy of `list` without one occurrence of `item`: a listener subscribed twice stays once. */
function withoutOne<T>(list: readonly T[], item: T): readonly T[] {
  const index = list.indexOf(item);
  return index === -1 ? list : [...list.slice(0, index), ...list.slice(index + 1)];
}

export type CacheEvents = TypedEventBus<CacheEventMap>;

export function createCacheEvents(options?: EventBusOptions): CacheEvents {
  return new TypedEventBus<CacheEventMap>(options);
}
