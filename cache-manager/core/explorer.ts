/**
 * The key explorer: pages over L2's keys and describes each with its L1 presence, remaining TTL,
 * size and tags, or inspects one key's stored value. It never loads from an origin and never
 * counts as a cache hit, so browsing does not disturb hit ratios or eviction order.
 */
import { decodeEnvelope, type Envelope } from "./envelope";
import { isMarkerHead } from "./l2/fence";
import type { L1Cache } from "./l1/cache";
import type { L2Store } from "./l2/types";
import type { CircuitBreaker } from "./resilience/breaker";

/**
 * A key as the explorer shows it. `ttlMs`: how long it stays fresh (after that it may still be
 * served stale for the grace period, which L2's own TTL includes); -1 when unknown.
 */
export interface KeyInfo {
  key: string;
  tiers: ("l1" | "l2")[];
  ttlMs: number;
  sizeBytes: number;
  tags: string[];
}

export interface KeyScanPage {
  keys: KeyInfo[];
  cursor: string;
  /** Keys the L2 scan returned for this page (an exact key counts as 1), before dropping ones that expired meanwhile. */
  scanned: number;
}

export class KeyExplorer {
  constructor(
    private readonly l1: L1Cache<Envelope>,
    private readonly l2: L2Store,
    private readonly breaker: CircuitBreaker,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * One page of L2's keys (`match` is a glob), each with its L1 presence and L2 remaining TTL,
   * size and tags. An exact key (no glob characters) is looked up directly instead of scanned.
   */
  async scanKeys(options: { match?: string; cursor?: string; count?: number }): Promise<KeyScanPage> {
    const match = options.match || "*";
    if (!/[*?[\\]/.test(match)) {
      const [info] = await this.describeKeys([match]);
      return { keys: info ? [info] : [], cursor: "0", scanned: 1 };
    }
    const page = await this.breaker.run(() => this.l2.scan({ match, cursor: options.cursor, count: options.count }));
    const keys = (await this.describeKeys(page.keys)).filter((info): info is KeyInfo => info !== undefined);
    return { keys, cursor: page.cursor, scanned: page.keys.length };
  }

  /** A key's metadata and stored value (L1 first, then L2), without touching the origin or the hit counters. */
  async inspect(key: string): Promise<(KeyInfo & { value: unknown; negative: boolean }) | undefined> {
    const [info] = await this.describeKeys([key]);
    if (!info) return undefined;
    const local = this.l1.peek(key);
    const envelope = local ?? decodeEnvelope(await this.breaker.run(() => this.l2.get(key)));
    if (!envelope) return undefined;
    return { ...info, value: envelope.v, negative: envelope.n === 1 };
  }

  /** Metadata of each key that either tier holds (undefined for the others), aligned with `keys`. */
  private async describeKeys(keys: readonly string[]): Promise<(KeyInfo | undefined)[]> {
    if (keys.length === 0) return [];
    const [raws, ttls] = await this.breaker.run(() => Promise.all([this.l2.mget(keys), Promise.all(keys.map((key) => this.l2.pttl(key)))]));
    return keys.map((key, i) => {
      const local = this.l1.info(key);
      // A fill lease's marker holds the key's place in L2 while it loads: it is no value.
      const raw = raws[i] !== null && isMarkerHead(raws[i]!) ? null : raws[i];
      if (!local && raw === null) return undefined;
      const remote = decodeEnvelope(raw);
      const tiers: ("l1" | "l2")[] = [];
      if (local) tiers.push("l1");
      if (raw !== null) tiers.push("l2");
      const ttl = ttls[i];
      const fresh = remote ?? (local && this.l1.peek(key));
      return {
        key,
        tiers,
        ttlMs: fresh ? Math.max(0, fresh.f - this.now()) : ttl !== null ? ttl : (local?.ttlRemainingMs ?? -1),
        sizeBytes: raw !== null ? raw.length : local!.sizeBytes,
        tags: remote?.t ?? [...(local?.tags ?? [])],
      };
    });
  }
}
