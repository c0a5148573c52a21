/**
 * The Node host's `encore.dev/pubsub`: the same classes and types as Encore's, backed by Redis
 * Streams. Constructing a `Topic` or `Subscription` only records it in this module's registry, so
 * app modules load without a running host; `publish()` reaches Redis through `hostState()`, and
 * the host's `PubSubRuntime` (runtime/pubsub.ts) runs the registered handlers.
 *
 * Below the Encore API sit the host-internal exports the runtime shares with this module: the
 * registry, the resolved subscription options, the stream keys and `publishMessage`. App code
 * type-checks against the real `encore.dev/pubsub`, where they do not exist.
 */
import { configReader } from "../../../lib/config/index.ts";
import type { Attribute, AttributesOf, DeliveryGuarantee, DurationString, RetryPolicy, SubscriptionConfig, TopicConfig } from "encore.dev/pubsub";
import type { Redis } from "ioredis";
import { parseDuration } from "../../../lib/duration.ts";
import { CodedError } from "../../../lib/errors.ts";
import { runScript } from "../../../lib/redis.ts";
import { hostState } from "../runtime/state.ts";
import { currentTraceparent, inSpan, SpanKind, tracingEnabled } from "../runtime/tracing.ts";

export type { Attribute, AttributesOf, DeliveryGuarantee, DurationString, RetryPolicy, SubscriptionConfig, TopicConfig };

// ---------------------------------------------------------------------------------------------
// Encore's API
// ---------------------------------------------------------------------------------------------

/** Marker base class for the permissions a topic reference grants (as in Encore). */
abstract class TopicPerms {
  // Encore brands the class with a private method so unrelated objects do not match it.
  private topicPerms(): void {}
}

/** A reference to a topic that may publish (`topic.ref<Publisher<Msg>>()`). */
abstract class Publisher<Msg extends object> extends TopicPerms {
  abstract publish(msg: Msg): Promise<string>;
}

export type { TopicPerms, Publisher };

/** A named channel messages are published to; every subscription receives each message. */
export class Topic<Msg extends object> extends TopicPerms implements Publisher<Msg> {
  public readonly name: string;
  public readonly cfg: TopicConfig<Msg>;

  constructor(name: string, cfg: TopicConfig<Msg>) {
    super();
    this.name = name;
    this.cfg = cfg;
    registerTopic(name, cfg.deliveryGuarantee);
  }

  /** Appends the message to the topic's stream and returns its id (the id subscribers see). */
  public async publish(msg: Msg): Promise<string> {
    const { redis, keyPrefix, manifest } = hostState();
    const groups = manifest.subscriptions.filter((s) => s.topic === this.name).map((s) => s.name);
    return publishMessage({ redis, keyPrefix, groups }, this.name, msg);
  }

  public ref<P extends TopicPerms>(): P {
    return this as unknown as P;
  }
}

/** A named consumer of a topic: the host calls `cfg.handler` for each message, at least once. */
export class Subscription<Msg extends object> {
  private readonly topic: Topic<Msg>;
  private readonly name: string;

  constructor(topic: Topic<Msg>, name: string, cfg: SubscriptionConfig<Msg>) {
    this.topic = topic;
    this.name = name;
    registerSubscription(topic.name, name, cfg as SubscriptionConfig<unknown>);
  }
}

// ---------------------------------------------------------------------------------------------
// Host-internal: errors and configuration
// ---------------------------------------------------------------------------------------------

/** A topic or subscription configured in a way the host cannot run (Encore would reject it too). */
export class PubSubConfigError extends CodedError {
  static override code = "E_PUBSUB_CONFIG";
}

/** Encore's defaults (encore.dev/pubsub docs and the local NSQ runtime's max-in-flight). */
export const PUBSUB_DEFAULTS = {
  maxConcurrency: 100,
  ackDeadline: "30s",
  minBackoff: "10s",
  maxBackoff: "10m",
  maxRetries: 100,
} as const;

/** Encore's `pubsub.InfiniteRetries` and `pubsub.NoRetries` (Go SDK values). */
export const INFINITE_RETRIES = -1;
export const NO_RETRIES = -2;

/**
 * What a negative `maxConcurrency` ("no limit" in Encore) becomes: the host keeps every limit
 * finite, so memory and Redis load stay bounded even for a subscription declared unbounded.
 */
export const UNBOUNDED_CONCURRENCY_CAP = 1000;

/** Encore documents the ack deadline's minimum as one second. */
const MIN_ACK_DEADLINE_MS = 1000;

/** A subscription's configuration with the defaults applied and durations in milliseconds. */
export interface SubscriptionOptions {
  maxConcurrency: number;
  ackDeadlineMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Retries after the first delivery before the message is dead-lettered; may be Infinity. */
  maxRetries: number;
}

/** A subscription as the runtime needs it: where it reads from and what it calls. */
export interface SubscriptionRegistration {
  topic: string;
  name: string;
  handler: (msg: never) => Promise<unknown>;
  options: SubscriptionOptions;
}

/**
 * Applies Encore's defaults and validates the values, so a bad configuration fails when the
 * module declaring it loads (where Encore's compiler would reject it), not on the first message.
 */
export function resolveSubscriptionOptions(where: string, cfg: Omit<SubscriptionConfig<unknown>, "handler">): SubscriptionOptions {
  const duration = (field: string, value: string | undefined, fallback: string): number => {
    try {
      return parseDuration(value ?? fallback);
    } catch (err) {
      throw new PubSubConfigError(`${where}: ${field} ${(err as Error).message}`, { cause: err });
    }
  };

  const maxConcurrency = cfg.maxConcurrency ?? 0;
  if (!Number.isInteger(maxConcurrency)) {
    throw new PubSubConfigError(`${where}: maxConcurrency must be an integer, got ${maxConcurrency}`);
  }
  const ackDeadlineMs = duration("ackDeadline", cfg.ackDeadline, PUBSUB_DEFAULTS.ackDeadline);
  if (ackDeadlineMs < MIN_ACK_DEADLINE_MS) {
    throw new PubSubConfigError(`${where}: ackDeadline must be at least 1s, got "${cfg.ackDeadline}"`);
  }
  const minBackoffMs = duration("retryPolicy.minBackoff", cfg.retryPolicy?.minBackoff, PUBSUB_DEFAULTS.minBackoff);
  const maxBackoffMs = duration("retryPolicy.maxBackoff", cfg.retryPolicy?.maxBackoff, PUBSUB_DEFAULTS.maxBackoff);
  if (minBackoffMs > maxBackoffMs) {
    throw new PubSubConfigError(`${where}: retryPolicy.minBackoff (${minBackoffMs} ms) is longer than retryPolicy.maxBackoff (${maxBackoffMs} ms)`);
  }
  return {
    maxConcurrency: maxConcurrency === 0 ? PUBSUB_DEFAULTS.maxConcurrency : maxConcurrency < 0 ? UNBOUNDED_CONCURRENCY_CAP : maxConcurrency,
    ackDeadlineMs,
    minBackoffMs,
    maxBackoffMs,
    maxRetries: resolveMaxRetries(where, cfg.retryPolicy?.maxRetries),
  };
}

/** Encore's rule: 0 or unset → 100; n > 0 → n; InfiniteRetries → never dead-letter; NoRetries → 0. */
function resolveMaxRetries(where: string, value: number | undefined): number {
  if (value === undefined || value === 0) return PUBSUB_DEFAULTS.maxRetries;
  if (value === INFINITE_RETRIES) return Infinity;
  if (value === NO_RETRIES) return 0;
  if (Number.isInteger(value) && value > 0) return value;
  throw new PubSubConfigError(`${where}: retryPolicy.maxRetries must be a positive integer, 0 (default 100), -1 (infinite) or -2 (no retries), got ${value}`);
}

// ---------------------------------------------------------------------------------------------
// Host-internal: registry
// ---------------------------------------------------------------------------------------------

const topics = new Map<string, { name: string; deliveryGuarantee: DeliveryGuarantee }>();
const subscriptions = new Map<string, SubscriptionRegistration>();

/**
 * Records a topic. Declaring the same name again replaces the entry: that only happens when a
 * module is evaluated twice (test runners resetting modules); duplicates across files are caught
 * by the manifest's conformance check.
 */
export function registerTopic(name: string, deliveryGuarantee: DeliveryGuarantee): void {
  topics.set(name, { name, deliveryGuarantee });
}

/** Records a subscription with its resolved options (throws PubSubConfigError when invalid). */
export function registerSubscription(topic: string, name: string, cfg: SubscriptionConfig<unknown>): SubscriptionRegistration {
  if (typeof cfg?.handler !== "function") {
    throw new PubSubConfigError(`subscription "${name}" on topic "${topic}": handler must be a function`);
  }
  const registration: SubscriptionRegistration = {
    topic,
    name,
    handler: cfg.handler as (msg: never) => Promise<unknown>,
    options: resolveSubscriptionOptions(`subscription "${name}" on topic "${topic}"`, cfg),
  };
  subscriptions.set(`${topic}\u0000${name}`, registration);
  return registration;
}

/** Every subscription declared in this process so far. */
export function registeredSubscriptions(): SubscriptionRegistration[] {
  return [...subscriptions.values()];
}

/** Every topic declared in this process so far. */
export function registeredTopics(): Array<{ name: string; deliveryGuarantee: DeliveryGuarantee }> {
  return [...topics.values()];
}

// ---------------------------------------------------------------------------------------------
// Host-internal: streams and publishing
// ---------------------------------------------------------------------------------------------

/** The stream holding a topic's messages; each subscription is a consumer group on it. */
export function topicStreamKey(keyPrefix: string, topic: string): string {
  return `${keyPrefix}topic:${topic}`;
}

/** Where a subscription's messages go after their last failed delivery. */
export function deadLetterStreamKey(keyPrefix: string, topic: string, subscription: string): string {
  return `${keyPrefix}topic:${topic}:dlq:${subscription}`;
}

const hostConfig = configReader();

/**
 * The approximate bound on each topic (and dead-letter) stream: `CACHET_PUBSUB_MAXLEN` (100 000).
 * It stands in for Encore's `messageRetention`: beyond it the oldest messages are trimmed,
 * whether or not every subscription has processed them.
 */
export const maxStreamLength = (): number => hostConfig().CACHET_PUBSUB_MAXLEN;

/** The Redis connection and key prefix `publishMessage` writes with. */
export interface PublishTarget {
  redis: Redis;
  keyPrefix: string;
  /** The topic's subscriptions (consumer groups), created with the stream if it is missing. */
  groups?: readonly string[];
}

/**
 * XADD that, when the stream is missing (never published to, or Redis restarted empty), first
 * creates the subscriptions' groups at id 0 in the same script. Without this a subscriber that
 * found its group gone would recreate it after the publish and skip the message.
 * KEYS[1] the stream; ARGV[1] MAXLEN, ARGV[2] the number of groups n, then the n groups, then the
 * entry's field/value pairs (`data`, and `traceparent` when tracing).
 */
const PUBLISH_SCRIPT = `local n = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  for i = 3, 2 + n do redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[i], '0', 'MKSTREAM') end
end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 3 + n))`;

/**
 * Appends `msg` (as JSON) to the topic's stream and returns the stream id, which is the message
 * id subscribers see. Subscriptions that exist (consumer groups) receive it; the host creates the
 * groups of every subscription in the manifest at start, and a publish that finds the stream
 * missing creates `target.groups` first (see `PUBLISH_SCRIPT`).
 */
export async function publishMessage(target: PublishTarget, topic: string, msg: unknown, maxLength: number = maxStreamLength()): Promise<string> {
  if (typeof msg !== "object" || msg === null) {
    throw new TypeError(`topic "${topic}": a message must be an object, got ${msg === null ? "null" : typeof msg}`);
  }
  const groups = [...new Set(target.groups ?? [])];
  const append = async (...trace: string[]) => {
    const fields = ["data", JSON.stringify(msg), ...trace];
    const id = (await runScript(target.redis, PUBLISH_SCRIPT, [topicStreamKey(target.keyPrefix, topic)], [maxLength, groups.length, ...groups, ...fields])) as
      string | null;
    if (id === null) throw new Error(`topic "${topic}": Redis did not add the message (XADD returned nil)`);
    return id;
  };
  if (!tracingEnabled) return append();
  // the PRODUCER span; its context travels in the message for the deliveries' CONSUMER spans
  const attributes = { "messaging.system": "redis-streams", "messaging.destination.name": topic, "messaging.operation.type": "send" };
  return inSpan(`publish ${topic}`, SpanKind.PRODUCER, attributes, () => append("traceparent", currentTraceparent().traceparent));
}
