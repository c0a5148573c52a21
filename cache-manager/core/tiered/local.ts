/**
 * This instance's own state: L1, the per-key versions that keep a read racing an invalidation
 * from filling L1 with what it read, and the in-flight loads (single-flight). Everything that
 * drops local copies — this instance's writes and the coherence bus's handlers — goes through
 * here, so `createTieredCache` can hand these handlers to the bus before the cache exists.
 */
import { compileGlob } from "../../../lib/glob";
import type { CoherenceHandlers } from "../coherence/follower";
import { KeyVersions } from "../coherence/versions";
import { encodeEnvelope, type Envelope } from "../envelope";
import type { L1Cache } from "../l1/cache";
import type { Clock } from "../../../lib/clock";
import { SingleFlight } from "../resilience/singleflight";
import type { CacheRead } from "./options";

export class LocalTier {
  readonly versions = new KeyVersions();
  readonly flights = new SingleFlight<string, CacheRead>();

  constructor(
    readonly l1: L1Cache<Envelope>,
    private readonly clock: Clock,
    private readonly graceMs: number,
  ) {}

  /**
   * Fills L1 unless the key changed since `token` was taken. `sizeBytes`: the envelope's
   * serialized size when the caller already knows it (saves encoding it again).
   */
  fill(key: string, envelope: Envelope, token: number, sizeBytes?: number): void {
    if (!this.versions.unchanged(key, token)) return;
    const ttlMs = envelope.f - this.clock.now() + this.graceMs;
    if (ttlMs <= 0) return;
    const size = sizeBytes ?? Buffer.byteLength(encodeEnvelope(envelope));
    this.l1.set(key, envelope, { sizeBytes: size, ttlMs, tags: envelope.t });
  }

  /** Forgets local copies of `keys`, refuses their in-flight L1 fills, detaches their loads. */
  drop(keys: readonly string[]): void {
    for (const key of keys) {
      this.versions.invalidate(key);
      this.l1.delete(key);
      this.flights.forget(key);
    }
  }

  /** Another instance changed these keys: forget local copies and refuse in-flight fills. */
  applyInvalidation(keys: readonly string[]): void {
    this.drop(keys);
  }

  /**
   * Keys matching any of these globs changed elsewhere: drop them from L1. Which in-flight fills
   * they cover is unknown until each completes, so every fill started before now is refused.
   */
  applyPatternInvalidation(patterns: readonly string[]): void {
    const matchers = patterns.map(compileGlob);
    const matching: string[] = [];
    let cursor = 0;
    do {
      const page = this.l1.scan(cursor, 1000, (key) => matchers.some((match) => match(key)));
      matching.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== 0);
    this.versions.clear();
    this.drop(matching);
  }

  /** Announcements may have been missed (stream trimmed, Redis restarted): drop the whole L1. */
  applyGap(): void {
    this.versions.clear();
    this.l1.clear();
  }

  /** The coherence bus's handlers for this instance. */
  handlers(): CoherenceHandlers {
    return {
      onInvalidate: (keys) => this.applyInvalidation(keys),
      onInvalidatePattern: (patterns) => this.applyPatternInvalidation(patterns),
      onFlush: () => this.applyGap(),
      onGap: () => this.applyGap(),
    };
  }
}
