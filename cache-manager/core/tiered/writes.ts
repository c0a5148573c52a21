/**
 * Writes: one key in a write mode (cache-only, write-through, write-behind) or a batch
 * (cache-only). Each is acknowledged once L2 holds it and its announcement is durable; the
 * writer's own L1 is filled unless another instance changed the key meanwhile.
 */
import { randomUUID } from "node:crypto";
import { encodeEnvelope, envelopeJson, type Envelope } from "../envelope";
import { fenceOf, markerOf } from "../l2/fence";
import type { L2Entry, L2FencedEntry } from "../l2/types";
import { jitterTtl } from "../resilience/timeouts";
import type { CacheContext } from "./context";
import { CacheUnavailableError, defaultTtlFor, NoWriterError, type BatchWrite, type SetOptions } from "./options";

/**
 * How long warming's soft lease holds a free key: long enough for its origin load and store (a
 * store after it expires is refused, never wrong); readers replace soft leases anyway.
 */
const SOFT_LEASE_TTL_MS = 60_000;

export class Writes {
  constructor(private readonly c: CacheContext) {}

  /** Writes a value in the given mode; resolves once every instance will see it (announced). */
  async set(key: string, value: unknown, options: SetOptions = {}): Promise<void> {
    const { o, local, remote } = this.c;
    this.refuseWithoutL2();
    const mode = options.mode ?? "cache-only";
    const ttlMs = jitterTtl(options.ttlMs ?? defaultTtlFor(o, key), o.jitter);
    if (mode === "write-through") {
      const origin = o.origins.resolve(key);
      if (!origin?.write) throw new NoWriterError(`write-through needs an origin with a writer for "${key}"`);
      // One order per key at the origin: an older write-behind value still queued must not land later.
      await o.supersedeQueuedWrite?.(key);
      await origin.write(key, value);
    }
    if (mode === "write-behind" && (!o.enqueueWrite || !o.origins.resolve(key)?.write)) {
      throw new NoWriterError(`write-behind needs an origin with a writer for "${key}"`);
    }
    const fresh = o.clock.now() + ttlMs;
    const envelope: Envelope = options.tags?.length ? { v: value, f: fresh, t: options.tags } : { v: value, f: fresh };
    local.drop([key]);
    // Taken before the write: if another instance's write of the key is announced meanwhile, L2
    // may hold theirs, and ours must not go into L1.
    const token = local.versions.snapshot(key);
    const encoded = options.valueJson === undefined ? encodeEnvelope(envelope) : envelopeJson(options.valueJson, fresh, envelope.t);
    const size = await remote.put(key, envelope, encoded, options.tags);
    local.fill(key, envelope, token, size);
    if (mode === "write-behind") await o.enqueueWrite!(key, value);
    this.c.events.emit("set", { key });
  }

  /**
   * Writes several entries (cache-only) as one batch: one pipelined L2 write and one coherence
   * announcement for all of them, acknowledged (like `set`) once the announcement is durable.
   * An entry with a `fence` (from `beginFills`, taken before its value was loaded from the origin)
   * is stored only if nothing changed its key since. Resolves to whether each entry was stored.
   */
  async setMany(entries: readonly BatchWrite[]): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const { o, local, remote } = this.c;
    this.refuseWithoutL2();
    const now = o.clock.now();
    const count = entries.length;
    const keys = new Array<string>(count);
    const envelopes = new Array<Envelope>(count);
    const plain: Array<L2Entry & { value: string }> = [];
    const fenced: Array<L2FencedEntry & { value: string }> = [];
    const stored = new Array<boolean>(count).fill(true);
    // Each value is JSON-encoded once: the same string goes to L2 and sizes the L1 entry.
    for (let i = 0; i < count; i++) {
      const { key, value, ttlMs, tags, fence } = entries[i];
      const fresh = now + jitterTtl(ttlMs ?? defaultTtlFor(o, key), o.jitter);
      const envelope: Envelope = tags?.length ? { v: value, f: fresh, t: tags } : { v: value, f: fresh };
      keys[i] = key;
      envelopes[i] = envelope;
      const entry = { key, value: encodeEnvelope(envelope), ttlMs: Math.max(1, fresh - now) + o.graceMs, tags: envelope.t };
      if (fence === undefined) plain.push(entry);
      else fenced.push({ ...entry, fence });
    }
    // A fenced entry is a fill: it must not drop local copies of a key it may not store into.
    local.drop(plain.map((entry) => entry.key));
    // Taken after our own invalidations and before the L2 write: a key another instance changes
    // while this batch is written (its announcement lands meanwhile) is not filled with our value,
    // which L2 may already hold only under theirs.
    const token = local.versions.snapshot();
    if (plain.length > 0) await remote.putMany(plain);
    const filled = fenced.length > 0 ? await remote.fillMany(fenced) : [];
    const refused = new Set(fenced.filter((_, j) => !filled[j]).map((entry) => entry.key));
    const sizes = new Map([...plain, ...fenced].map((entry) => [entry.key, Buffer.byteLength(entry.value)]));
    for (let i = 0; i < count; i++) {
      if (entries[i].fence !== undefined) this.c.events.emit("fill", { key: keys[i], stored: !refused.has(keys[i]) });
      if (refused.has(keys[i]) && entries[i].fence !== undefined) {
        stored[i] = false;
        continue;
      }
      local.fill(keys[i], envelopes[i], token, sizes.get(keys[i]));
      this.c.events.emit("set", { key: keys[i] });
    }
    return stored;
  }

  /**
   * Fences for values about to be loaded from the origin outside a read (warming): store them
   * with `setMany` and each is stored only if nothing changed its key meanwhile. A free key gets
   * a soft lease, which a reader takes over rather than waits on; `undefined` for a key a reader
   * is loading now (its fill will do). Aligned with `keys`.
   */
  async beginFills(keys: readonly string[]): Promise<Array<string | undefined>> {
    const markers = keys.map(() => markerOf(randomUUID(), true));
    const reads = await this.c.remote.run((l2) => l2.fenceReadMany(keys, markers, SOFT_LEASE_TTL_MS));
    return reads.map((read) => (read.kind === "granted" ? read.fence : read.kind === "value" ? fenceOf(read.value) : undefined));
  }

  /** Writes need L2: at level l1-only they are refused so instances cannot diverge. */
  private refuseWithoutL2(): void {
    this.c.plan("write");
    if (this.c.level() === "l1-only") {
      throw new CacheUnavailableError("L2 is unavailable: writes are refused so instances cannot diverge; retry when it recovers");
    }
  }
}
