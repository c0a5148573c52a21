/**
 * What a cache policy may say, checked once here for the API and for what the registry reads
 * back from Redis: every problem is listed in one `PolicyArgumentError`, each naming the field
 * and the accepted range.
 */
import { POLICY_NAMES, type PolicyName } from "../l1/policies";
import type { NamespacePolicy } from "../tiered/options";
import { MAX_TTL_SECONDS } from "../../../lib/validation";
import { PolicyArgumentError } from "./errors";

/** The L1 settings every instance applies: its eviction policy and its two bounds. */
export interface L1Settings {
  policy: PolicyName;
  maxEntries: number;
  maxBytes: number;
}

export const L1_LIMITS = { minEntries: 1, maxEntries: 2 ** 30, minBytes: 1024, maxBytes: Number.MAX_SAFE_INTEGER };
export const TTL_LIMITS_MS = { min: 1_000, max: MAX_TTL_SECONDS * 1_000 };
export const RETENTION_LIMITS_MS = { min: 60_000, max: 5 * MAX_TTL_SECONDS * 1_000 };
export const MAX_NAMESPACE_CHARS = 128;

const NAMESPACE = /^[^:\s\p{Cc}]+:$/u;

type Problems = string[];

function integerIn(problems: Problems, field: string, value: unknown, min: number, max: number, unit: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`"${field}" must be an integer from ${min} to ${max} ${unit}, got ${JSON.stringify(value) ?? "nothing"}`);
  }
  return value as number;
}

function fail(problems: Problems, where: string): void {
  if (problems.length > 0) throw new PolicyArgumentError(`${where}: ${problems.join("; ")}`);
}

function objectOrFail(input: unknown, where: string): Record<string, unknown> {
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw new PolicyArgumentError(`${where}: expected a JSON object`);
  return input as Record<string, unknown>;
}

function refuseUnknownFields(problems: Problems, input: Record<string, unknown>, known: readonly string[]): void {
  for (const field of Object.keys(input)) if (!known.includes(field)) problems.push(`unknown field "${field}" (expected ${known.join(", ")})`);
}

/** A namespace as keys name it: the part up to and including the first ':' (`product:`). */
export function validateNamespace(namespace: unknown): string {
  if (typeof namespace !== "string" || namespace.length > MAX_NAMESPACE_CHARS || !NAMESPACE.test(namespace)) {
    throw new PolicyArgumentError(
      `namespace must be a key prefix up to and including its first ':' (e.g. "product:"), 2 to ${MAX_NAMESPACE_CHARS} characters without spaces or control characters, got ${JSON.stringify(namespace)}`,
    );
  }
  return namespace;
}

/** All three L1 settings, each in range. */
export function validateL1Settings(input: unknown, where = "L1 settings"): L1Settings {
  const body = objectOrFail(input, where);
  const problems: Problems = [];
  refuseUnknownFields(problems, body, ["policy", "maxEntries", "maxBytes"]);
  if (!POLICY_NAMES.includes(body.policy as PolicyName))
    problems.push(`"policy" must be one of ${POLICY_NAMES.join(", ")}, got ${JSON.stringify(body.policy) ?? "nothing"}`);
  const maxEntries = integerIn(problems, "maxEntries", body.maxEntries, L1_LIMITS.minEntries, L1_LIMITS.maxEntries, "entries");
  const maxBytes = integerIn(problems, "maxBytes", body.maxBytes, L1_LIMITS.minBytes, L1_LIMITS.maxBytes, "bytes");
  fail(problems, where);
  return { policy: body.policy as PolicyName, maxEntries, maxBytes };
}

/** A namespace's policy: each field optional (absent: the cache's default), each in range when present. */
export function validateNamespacePolicy(input: unknown, where = "namespace policy"): NamespacePolicy {
  const body = objectOrFail(input, where);
  const problems: Problems = [];
  refuseUnknownFields(problems, body, ["defaultTtlMs", "l3", "l3RetentionMs"]);
  const policy: NamespacePolicy = {};
  if (body.defaultTtlMs !== undefined) policy.defaultTtlMs = integerIn(problems, "defaultTtlMs", body.defaultTtlMs, TTL_LIMITS_MS.min, TTL_LIMITS_MS.max, "ms");
  if (body.l3 !== undefined) {
    if (typeof body.l3 !== "boolean") problems.push(`"l3" must be true or false, got ${JSON.stringify(body.l3)}`);
    policy.l3 = body.l3 as boolean;
  }
  if (body.l3RetentionMs !== undefined)
    policy.l3RetentionMs = integerIn(problems, "l3RetentionMs", body.l3RetentionMs, RETENTION_LIMITS_MS.min, RETENTION_LIMITS_MS.max, "ms");
  if (Object.keys(body).length === 0) problems.push("set at least one of defaultTtlMs, l3, l3RetentionMs (DELETE the namespace's policy to drop it)");
  fail(problems, where);
  return policy;
}
