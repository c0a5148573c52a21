/**
 * The remote tier behind one facade (as bentocache's `remote_cache.ts`): every L2 call runs
 * through the circuit breaker here and nowhere else; a read L2 cannot answer is reported and
 * becomes "unread" (the caller falls back), never a thrown error; a mutation is announced on the
 * coherence stream and acknowledged only once the announcement is durable.
 */
import { decodeEnvelope, encodeEnvelope, type Envelope } from "../envelope";
import { L2ArgumentError, L2CursorError } from "../l2/errors";
import type { FenceRead, FillFence } from "../l2/fence";
import type { L2DeleteMatchingResult, L2Entry, L2FencedEntry, L2Store } from "../l2/types";
import { CircuitBreaker } from "../resilience/breaker";
import type { Clock } from "../../../lib/clock";
import { promiseOf } from "../../../lib/concurrency";
import type { CacheEvents } from "../stats/events";
import type { CoherencePort } from "./options";

/** An envelope read from L2, with its stored size (so filling L1 need not encode it again). */
export interface StoredEnvelope {
  envelope: Envelope;
  size: number;
}

/** A coherence announcement's kind, as the bus takes it. */
type AnnouncementKind = Parameters<CoherencePort["announce"]>[1];

/**
 * A malformed cursor or argument is the caller's mistake, not L2 failing: it must not let
 * anyone open the breaker (and degrade every instance) by sending bad cursors.
 */
function isL2Failure(error: unknown): boolean {
  return !(error instanceof L2CursorError || error instanceof L2ArgumentError);
}

export interface RemoteTierOptions {
  l2: L2Store;
  coherence: CoherencePort;
  clock: Clock;
  events: CacheEvents;
  graceMs: number;
  breakerThreshold: number;
  breakerOpenMs: number;
}

export class RemoteTier {
  readonly breaker: CircuitBreaker;
  readonly l2: L2Store;
  private readonly coherence: CoherencePort;
  private readonly clock: Clock;
  private readonly events: CacheEvents;
  private readonly graceMs: number;
  /** The flush that ends this turn of the loop, while one is pending (`flushAtTurnEnd`). */
  private turnFlush: Promise<void> | null = null;

  constructor(options: RemoteTierOptions) {
    ({ l2: this.l2, coherence: this.coherence, clock: this.clock, events: this.events, graceMs: this.graceMs } = options);
    this.breaker = new CircuitBreaker({
      name: "l2",
      failureThreshold: options.breakerThreshold,
      openMs: options.breakerOpenMs,
      clock: this.clock,
      isFailure: isL2Failure,
    });
  }

  /** Runs one L2 operation through the breaker (rejects at once while it is open). */
  run<T>(operation: (l2: L2Store) => Promise<T>): Promise<T> {
    return this.breaker.run(() => operation(this.l2));
  }

  /** The envelope, `null` when L2 does not have the key, `undefined` when L2 could not be read. */
  async read(key: string): Promise<StoredEnvelope | null | undefined> {
    try {
      const raw = await this.run((l2) => l2.get(key));
      const envelope = decodeEnvelope(raw);
      return envelope && { envelope, size: raw!.length };
    } catch (error) {
      this.report("E_L2_READ", error, key);
      return undefined;
    }
  }

  /**
   * Writes the envelope, given with its JSON (TTL = freshness + grace), and announces the key
   * before resolving; resolves to the JSON's size in bytes (for L1, so it is not encoded twice).
   */
  async put(key: string, envelope: Envelope, encoded: string, tags = envelope.t): Promise<number> {
    await this.run((l2) => l2.set(key, encoded, this.ttlOf(envelope), tags?.length ? { tags } : undefined));
    await this.announce([key], "set");
    return Buffer.byteLength(encoded);
  }

  /** Writes every entry in one batch and announces them together. */
  async putMany(entries: readonly L2Entry[]): Promise<void> {
    await this.run((l2) => l2.mset(entries));
    await this.announce(
      entries.map((entry) => entry.key),
      "set",
    );
  }

  /**
   * Reads the key, or takes its fill lease with `marker` when it is free (one round trip);
   * `undefined` when L2 could not be read.
   */
  fenceRead(key: string, marker: string, leaseTtlMs: number): Promise<FenceRead | undefined> {
    return this.run((l2) => l2.fenceRead(key, marker, leaseTtlMs)).catch((error: unknown) => {
      this.report("E_L2_READ", error, key);
      return undefined;
    });
  }

  /**
   * Stores a value loaded from the origin only if its fence still holds, and announces it;
   * resolves to its encoded size, or `null` when a change since the load began revoked it.
   */
  fill(key: string, envelope: Envelope, fence: FillFence, kind: "set" | "restore" = "set"): Promise<number | null> {
    return promiseOf(() => {
      const encoded = encodeEnvelope(envelope);
      return this.fillMany([{ key, value: encoded, ttlMs: this.ttlOf(envelope), tags: envelope.t, fence }], kind).then(([stored]) =>
        stored ? Buffer.byteLength(encoded) : null,
      );
    });
  }

  /**
   * Fenced fills in one batch; announces those stored (`restore` for values that came from L3).
   * Aligned with `entries`: true where stored. (Promise chains rather than async functions: a
   * miss runs through here, and each async layer costs promises of its own.)
   */
  fillMany(entries: readonly L2FencedEntry[], kind: "set" | "restore" = "set"): Promise<boolean[]> {
    return this.run((l2) => l2.fill(entries)).then((stored) => {
      const keys: string[] = [];
      for (let i = 0; i < entries.length; i++) if (stored[i]) keys.push(entries[i].key);
      return keys.length > 0 ? this.announce(keys, kind).then(() => stored) : stored;
    });
  }

  /** Extends our fill lease; false when it was revoked, expired, or L2 could not be reached. */
  renewFence(key: string, marker: string, leaseTtlMs: number): Promise<boolean> {
    return this.run((l2) => l2.renewFence(key, marker, leaseTtlMs)).catch(() => false);
  }

  /** Gives up our fill lease (the load failed), so a waiting reader may take it at once. */
  releaseFence(key: string, marker: string): Promise<void> {
    return this.run((l2) => l2.releaseFence(key, marker)).catch((error) => this.report("E_L2_WRITE", error, key));
  }

  /** The L2 TTL of an envelope: its freshness left plus the grace period. */
  ttlOf(envelope: Envelope): number {
    return Math.max(1, envelope.f - this.clock.now()) + this.graceMs;
  }

  /** Deletes the keys from L2 and announces them; resolves to how many L2 held. */
  async delete(keys: readonly string[]): Promise<number> {
    const deleted = await this.run((l2) => l2.delete(keys));
    await this.announce(keys, "delete");
    return deleted;
  }

  /** Deletes every L2 key matching the glob (the caller announces: a pattern or a flush). */
  deleteMatching(pattern: string): Promise<L2DeleteMatchingResult> {
    return this.run((l2) => l2.deleteMatching(pattern));
  }

  /** Deletes the keys indexed under `tag`; `onKeys` hears each deleted batch. */
  deleteByTag(tag: string, onKeys: (keys: string[]) => void): Promise<number> {
    return this.run((l2) => l2.deleteByTag(tag, { onKeys }));
  }

  exists(keys: readonly string[]): Promise<number> {
    return this.run((l2) => l2.exists(keys));
  }

  countByTag(tag: string): Promise<number> {
    return this.run((l2) => l2.countByTag(tag));
  }

  countMatching(pattern: string, limit?: number) {
    return this.run((l2) => l2.countMatching(pattern, { limit }));
  }

  /**
   * Announces a change and resolves once the announcement is durable. Not async: a write's
   * acknowledgement waits on the turn's shared flush itself, without a promise of its own.
   */
  announce(keys: readonly string[], kind: AnnouncementKind): Promise<void> {
    return promiseOf(() => {
      this.coherence.announce(keys, kind);
      return this.flushAtTurnEnd();
    });
  }

  /**
   * One `flush()` at the end of this turn of the loop for every announcement made during it. The
   * bus sends at once when a flush finds nothing in flight, so the first of many writes settling
   * in one turn (a batch of fills, concurrent puts) used to go alone, and the others waited for
   * its round trip before going in a second entry; now they share one. A flush covers everything
   * announced before it, so each caller still resolves only once its own keys are durable.
   */
  private flushAtTurnEnd(): Promise<void> {
    this.turnFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.turnFlush = null;
      return this.coherence.flush();
    });
    return this.turnFlush;
  }

  /** Emits an error event, typed by the error's own code when it has one (typed or system errors). */
  report(type: string, error: unknown, key?: string): void {
    const code = (error as { code?: unknown } | undefined)?.code;
    this.events.emit("error", { type: typeof code === "string" ? code : type, key, error });
  }
}
