/**
 * The cache policy chosen at run time (Settings, admin), shared by every instance: the L1
 * eviction policy and bounds, and per-namespace policies (default TTL, L3 on or off, L3
 * retention). Defaults come from the environment; changes go to a versioned Redis hash
 * (`../versioned-hash.ts`) that every instance polls with `watch(intervalMs)`.
 *
 * - `forKey(key)` is the `CachePolicyPort` the tiered cache calls on every write and fill: one
 *   `Map` lookup of the key's namespace (up to and including its first ':'), over a map rebuilt
 *   only when the shared state changes.
 * - L1 settings are applied through `onL1Change` listeners (the runtime calls
 *   `L1Cache.reconfigure`), on the instance that made the change and on the others when they
 *   poll.
 *
 * Redis hash fields: `l1` → `{"policy", "maxEntries", "maxBytes"}`; `ns:<namespace>` → a
 * `NamespacePolicy`. A field that no longer validates is skipped and reported as a problem.
 *
 * @example
 * const policy = await PolicyRegistry.open({ redis, keyPrefix: "cachet:policy", defaults });
 * policy.onL1Change((settings) => l1.reconfigure(settings));
 * policy.watch(1_000);
 * await policy.setNamespace("session:", { defaultTtlMs: 60_000 });
 * policy.forKey("session:42").defaultTtlMs; // 60000, on every instance within a poll
 */
import type { Redis } from "ioredis";
import { namespaceOf } from "../../../lib/validation";
import type { CachePolicyPort, NamespacePolicy } from "../tiered/options";
import { VersionedHash } from "../versioned-hash";
import { PolicyConflictError } from "./errors";
import { validateL1Settings, validateNamespace, validateNamespacePolicy, type L1Settings } from "./validate";

/**
 * What a namespace without a policy of its own gets: the cache's options (shown by `view`, applied
 * by the tiered cache, not here).
 */
export interface NamespaceDefaults {
  defaultTtlMs: number;
  /** Whether this deployment runs the L3 tier at all; a namespace's `l3: true` needs it. */
  l3: boolean;
  l3RetentionMs: number;
}

export interface PolicyDefaults {
  l1: L1Settings;
  namespace: NamespaceDefaults;
}

export interface NamespacePolicyEntry extends NamespacePolicy {
  namespace: string;
}

/** The L1 settings in effect, and whether they come from the environment or a runtime change. */
export interface EffectiveL1Settings extends L1Settings {
  source: "env" | "runtime";
}

/** The effective policy, as the API shows it. */
export interface PolicyView {
  /** The version of the shared state this instance applied. */
  version: number;
  /** The L1 settings; `source` says whether they come from the environment or a runtime change. */
  l1: EffectiveL1Settings;
  /** What namespaces without a policy of their own get. */
  defaults: NamespaceDefaults;
  namespaces: NamespacePolicyEntry[];
  /** Stored settings this instance skipped, each saying why. */
  problems: string[];
}

/** One change, for the audit: what it targeted and the settings before and after (null: none). */
export interface PolicyChange {
  target: string;
  before: L1Settings | NamespacePolicy | null;
  after: L1Settings | NamespacePolicy | null;
  version: number;
}

export interface PolicyRegistryOptions {
  /** A command connection (shared is fine). */
  redis: Redis;
  /** Default "cachet:policy"; wrapped in a `{hash tag}` unless it has one. */
  keyPrefix?: string;
  defaults: PolicyDefaults;
  /** Called with a stored setting the registry had to skip, or a failed poll. */
  onProblem?: (problem: string) => void;
}

const L1_FIELD = "l1";
const NAMESPACE_FIELD = "ns:";
const NO_POLICY: NamespacePolicy = Object.freeze({});

function sameL1(a: L1Settings, b: L1Settings): boolean {
  return a.policy === b.policy && a.maxEntries === b.maxEntries && a.maxBytes === b.maxBytes;
}

export class PolicyRegistry implements CachePolicyPort {
  private readonly hash: VersionedHash;
  private readonly defaults: PolicyDefaults;
  private readonly options: PolicyRegistryOptions;
  private namespaces = new Map<string, NamespacePolicy>();
  private l1Settings: L1Settings;
  private l1FromRuntime = false;
  private currentVersion = -1;
  private currentProblems: string[] = [];
  private l1Listeners: Array<(settings: L1Settings) => void> = [];

  /** Validates the defaults, then reads the shared state. */
  static async open(options: PolicyRegistryOptions): Promise<PolicyRegistry> {
    const registry = new PolicyRegistry(options);
    await registry.refresh(true);
    return registry;
  }

  private constructor(options: PolicyRegistryOptions) {
    this.options = options;
    this.defaults = { l1: validateL1Settings(options.defaults.l1, "default L1 settings"), namespace: { ...options.defaults.namespace } };
    this.l1Settings = this.defaults.l1;
    this.hash = new VersionedHash(options.redis, options.keyPrefix ?? "cachet:policy", (message) => new PolicyConflictError(`cache policy: ${message}`));
  }

  /** The namespace policy of `key` (an empty policy when its namespace has none). */
  forKey(key: string): NamespacePolicy {
    if (this.namespaces.size === 0) return NO_POLICY;
    return this.namespaces.get(namespaceOf(key)) ?? NO_POLICY;
  }

  /** The effective L1 settings. */
  l1(): L1Settings {
    return this.l1Settings;
  }

  get version(): number {
    return this.currentVersion;
  }

  view(): PolicyView {
    return {
      version: this.currentVersion,
      l1: { ...this.l1Settings, source: this.l1FromRuntime ? "runtime" : "env" },
      defaults: { ...this.defaults.namespace },
      namespaces: [...this.namespaces].map(([namespace, policy]) => ({ namespace, ...policy })).sort((a, b) => a.namespace.localeCompare(b.namespace)),
      problems: [...this.currentProblems],
    };
  }

  /**
   * Calls `listener` with the new L1 settings whenever they change (here or, after a poll, on
   * another instance); returns the unsubscribe function. A listener that throws is reported
   * through `onProblem` and does not stop the others.
   */
  onL1Change(listener: (settings: L1Settings) => void): () => void {
    this.l1Listeners = [...this.l1Listeners, listener];
    return () => {
      this.l1Listeners = this.l1Listeners.filter((existing) => existing !== listener);
    };
  }

  /** Replaces the L1 settings of every instance (`E_POLICY_ARGUMENT` listing what to fix). */
  async setL1(input: unknown): Promise<PolicyChange> {
    const settings = validateL1Settings(input);
    return this.change(L1_FIELD, "l1", JSON.stringify(settings));
  }

  /** Returns every instance to the environment's L1 settings; undefined when no runtime setting was there. */
  async resetL1(): Promise<PolicyChange | undefined> {
    const change = await this.change(L1_FIELD, "l1", null);
    return change.before === null ? undefined : change;
  }

  /** Replaces a namespace's policy on every instance. */
  async setNamespace(namespace: unknown, input: unknown): Promise<PolicyChange> {
    const name = validateNamespace(namespace);
    const policy = validateNamespacePolicy(input);
    return this.change(NAMESPACE_FIELD + name, `namespace ${name}`, JSON.stringify(policy));
  }

  /** Drops a namespace's policy on every instance; undefined when it had none. */
  async removeNamespace(namespace: unknown): Promise<PolicyChange | undefined> {
    const name = validateNamespace(namespace);
    const change = await this.change(NAMESPACE_FIELD + name, `namespace ${name}`, null);
    return change.before === null ? undefined : change;
  }

  /** Re-reads the shared state when its version moved (or always with `force`); one GET when nothing changed. */
  async refresh(force = false): Promise<boolean> {
    const state = await this.hash.readIfChanged(this.currentVersion, force);
    if (state) this.apply(state.version, state.fields);
    return state !== undefined;
  }

  /** Polls `refresh()` every `intervalMs`; returns a function that stops polling. */
  watch(intervalMs = 1_000): () => void {
    return VersionedHash.poll(
      intervalMs,
      () => this.refresh(),
      (error) => this.options.onProblem?.(`cache policy refresh failed: ${error.message}`),
    );
  }

  /**
   * Writes (or, with `stored` null, deletes) one field atomically, then re-reads the shared state
   * so this instance applies the change before answering; the audit's before is what the field held.
   */
  private async change(field: string, target: string, stored: string | null): Promise<PolicyChange> {
    const { before, version } = await this.hash.swap(field, stored);
    await this.refresh(true);
    const parse = (raw: string | null | undefined) => (raw == null ? null : (JSON.parse(raw) as L1Settings | NamespacePolicy));
    return { target, before: parse(before), after: parse(stored), version };
  }

  /** Rebuilds the namespace map and the L1 settings from the stored fields; tells L1 listeners when those changed. */
  private apply(version: number, fields: Record<string, string>): void {
    const problems: string[] = [];
    const namespaces = new Map<string, NamespacePolicy>();
    let l1 = this.defaults.l1;
    let l1FromRuntime = false;
    for (const [field, raw] of Object.entries(fields)) {
      try {
        if (field === L1_FIELD) {
          l1 = validateL1Settings(JSON.parse(raw), "stored L1 settings");
          l1FromRuntime = true;
        } else if (field.startsWith(NAMESPACE_FIELD)) {
          const namespace = validateNamespace(field.slice(NAMESPACE_FIELD.length));
          namespaces.set(namespace, Object.freeze(validateNamespacePolicy(JSON.parse(raw), `stored policy of ${namespace}`)));
        } else problems.push(`skipped the unknown stored field "${field}"`);
      } catch (error) {
        problems.push(`skipped the stored field "${field}": ${(error as Error).message}`);
      }
    }
    const l1Changed = !sameL1(l1, this.l1Settings);
    this.namespaces = namespaces;
    this.l1Settings = l1;
    this.l1FromRuntime = l1FromRuntime;
    this.currentVersion = version;
    this.currentProblems = problems;
    for (const problem of problems) this.options.onProblem?.(problem);
    if (!l1Changed) return;
    for (const listener of this.l1Listeners) {
      try {
        listener(l1);
      } catch (error) {
        this.options.onProblem?.(`applying the L1 settings failed: ${(error as Error).message}`);
      }
    }
  }
}
