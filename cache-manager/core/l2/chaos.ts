/**
 * Fault injection around any `L2Store`, for testing what sits above L2 (breaker, degradation
 * levels, soft timeouts) against a real store that misbehaves on cue. Only the IO methods are
 * affected; `nodes()`, `nodeFor()`, `controlClient()` and `close()` pass straight through.
 *
 * @example
 * const l2 = new FaultInjector(await createSingleL2({ url }));
 * l2.failNext(3);             // the next three IO calls reject with L2UnavailableError
 * l2.setFailing(true);        // every call fails until setFailing(false)
 * l2.setLatency(200);         // every call waits 200 ms first (Infinity: until reset())
 * l2.only(["get", "mget"]);   // faults hit reads only
 */
import { L2UnavailableError } from "./errors.ts";
import type {
  L2CountOptions,
  L2CountResult,
  L2DeleteByTagOptions,
  L2DeleteMatchingOptions,
  L2DeleteMatchingResult,
  L2Entry,
  L2FencedEntry,
  L2NodeInfo,
  L2NodeRef,
  L2ScanOptions,
  L2ScanPage,
  L2SetOptions,
  L2Store,
  L2Value,
} from "./types.ts";

export type L2IoMethod =
  | "get"
  | "mget"
  | "set"
  | "mset"
  | "delete"
  | "fenceRead"
  | "fill"
  | "deleteByTag"
  | "countByTag"
  | "pruneTag"
  | "pttl"
  | "exists"
  | "scan"
  | "deleteMatching"
  | "countMatching"
  | "info"
  | "ping";

type Hook = (method: L2IoMethod) => void | Promise<void>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `hook(method)` ahead of every IO call; a throwing hook fails the call. */
export class InterceptedL2Store implements L2Store {
  constructor(
    protected readonly inner: L2Store,
    private readonly hook?: Hook,
  ) {}

  protected before(method: L2IoMethod): void | Promise<void> {
    return this.hook?.(method);
  }

  get mode() {
    return this.inner.mode;
  }

  get keyspace() {
    return this.inner.keyspace;
  }

  private async call<T>(method: L2IoMethod, run: () => Promise<T>): Promise<T> {
    await this.before(method);
    return run();
  }

  get(key: string) {
    return this.call("get", () => this.inner.get(key));
  }
  mget(keys: readonly string[]) {
    return this.call("mget", () => this.inner.mget(keys));
  }
  set(key: string, value: L2Value, ttlMs: number, options?: L2SetOptions) {
    return this.call("set", () => this.inner.set(key, value, ttlMs, options));
  }
  mset(entries: readonly L2Entry[]) {
    return this.call("mset", () => this.inner.mset(entries));
  }
  fenceRead(key: string, marker: string, leaseTtlMs: number) {
    return this.call("fenceRead", () => this.inner.fenceRead(key, marker, leaseTtlMs));
  }
  fenceReadMany(keys: readonly string[], markers: readonly string[], leaseTtlMs: number) {
    return this.call("fenceRead", () => this.inner.fenceReadMany(keys, markers, leaseTtlMs));
  }
  fill(entries: readonly L2FencedEntry[]) {
    return this.call("fill", () => this.inner.fill(entries));
  }
  renewFence(key: string, marker: string, leaseTtlMs: number) {
    return this.call("fill", () => this.inner.renewFence(key, marker, leaseTtlMs));
  }
  releaseFence(key: string, marker: string) {
    return this.call("fill", () => this.inner.releaseFence(key, marker));
  }
  delete(keys: readonly string[]) {
    return this.call("delete", () => this.inner.delete(keys));
  }
  deleteByTag(tag: string, options?: L2DeleteByTagOptions) {
    return this.call("deleteByTag", () => this.inner.deleteByTag(tag, options));
  }
  pttl(key: string) {
    return this.call("pttl", () => this.inner.pttl(key));
  }
  countByTag(tag: string) {
    return this.call("countByTag", () => this.inner.countByTag(tag));
  }
  pruneTag(tag: string) {
    return this.call("pruneTag", () => this.inner.pruneTag(tag));
  }

  exists(keys: readonly string[]) {
    return this.call("exists", () => this.inner.exists(keys));
  }
  scan(options?: L2ScanOptions): Promise<L2ScanPage> {
    return this.call("scan", () => this.inner.scan(options));
  }
  deleteMatching(pattern: string, options?: L2DeleteMatchingOptions): Promise<L2DeleteMatchingResult> {
    return this.call("deleteMatching", () => this.inner.deleteMatching(pattern, options));
  }
  countMatching(pattern: string, options?: L2CountOptions): Promise<L2CountResult> {
    return this.call("countMatching", () => this.inner.countMatching(pattern, options));
  }
  info(): Promise<L2NodeInfo[]> {
    return this.call("info", () => this.inner.info());
  }
  ping(): Promise<number> {
    return this.call("ping", () => this.inner.ping());
  }

  nodes(): L2NodeRef[] {
    return this.inner.nodes();
  }
  nodeFor(redisKey: string): L2NodeRef {
    return this.inner.nodeFor(redisKey);
  }
  controlClient(redisKey: string) {
    return this.inner.controlClient(redisKey);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const injected = (method: L2IoMethod) => new L2UnavailableError(`injected L2 failure in ${method}`);

/** Every IO call rejects at once, as with Redis down and the connection refused. */
export function alwaysFailing(store: L2Store, makeError: (method: L2IoMethod) => Error = injected): L2Store {
  return new InterceptedL2Store(store, (method) => {
    throw makeError(method);
  });
}

/** Every IO call waits `ms` first, as with a saturated network or a slow node. */
export function delayed(store: L2Store, ms: number): L2Store {
  return new InterceptedL2Store(store, () => sleep(ms));
}

/**
 * A store whose faults the test switches on and off. Latency applies before failures, so a
 * call can be both slow and failing. Counts every call per method.
 */
export class FaultInjector extends InterceptedL2Store {
  /** Calls seen per method, faulted or not. */
  readonly calls: Partial<Record<L2IoMethod, number>> = {};
  /** Calls that were made to fail. */
  failures = 0;
  private failRemaining = 0;
  private failing = false;
  private latencyMs = 0;
  private methods: ReadonlySet<L2IoMethod> | undefined;
  private makeError: (method: L2IoMethod) => Error = injected;
  private releaseHung: Array<() => void> = [];

  /** The next `count` faultable calls fail. */
  failNext(count = 1, makeError?: (method: L2IoMethod) => Error): this {
    this.failRemaining = count;
    if (makeError) this.makeError = makeError;
    return this;
  }

  /** While on, every faultable call fails. */
  setFailing(on: boolean, makeError?: (method: L2IoMethod) => Error): this {
    this.failing = on;
    if (makeError) this.makeError = makeError;
    return this;
  }

  /** Delay before every faultable call; `Infinity` hangs calls until `reset()`. */
  setLatency(ms: number): this {
    this.latencyMs = ms;
    return this;
  }

  /** Limit faults to these methods (all when unset). */
  only(methods: readonly L2IoMethod[] | undefined): this {
    this.methods = methods ? new Set(methods) : undefined;
    return this;
  }

  /** Clears every fault and releases hung calls (they then run normally). */
  reset(): this {
    this.failRemaining = 0;
    this.failing = false;
    this.latencyMs = 0;
    this.methods = undefined;
    this.makeError = injected;
    for (const release of this.releaseHung.splice(0)) release();
    return this;
  }

  protected override async before(method: L2IoMethod): Promise<void> {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    if (this.methods && !this.methods.has(method)) return;
    if (this.latencyMs === Infinity) await new Promise<void>((resolve) => this.releaseHung.push(resolve));
    else if (this.latencyMs > 0) await sleep(this.latencyMs);
    if (this.failing || this.failRemaining > 0) {
      if (this.failRemaining > 0) this.failRemaining--;
      this.failures++;
      throw this.makeError(method);
    }
  }
}
