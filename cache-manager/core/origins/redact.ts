/**
 * Origin secrets are write-only: an HTTP origin's header values (where credentials such as
 * `Authorization` go) are shown as REDACTED, and a config sent back with REDACTED in a header
 * keeps the value already stored, so the dashboard can edit an origin without ever seeing it.
 *
 * @example
 * redactConfig({ kind: "http", headers: { authorization: "Bearer s3cret" }, ... })
 * // → { kind: "http", headers: { authorization: "<redacted>" }, ... }
 */
import { OriginConfigError } from "./errors.ts";
import type { OriginConfig } from "./types.ts";

export const REDACTED = "<redacted>";

/** A copy of `config` with every header value replaced by REDACTED. */
export function redactConfig(config: OriginConfig): OriginConfig {
  if (config.kind !== "http" || !config.headers) return config;
  return { ...config, headers: Object.fromEntries(Object.keys(config.headers).map((name) => [name, REDACTED])) };
}

/**
 * `input` with each REDACTED header value replaced by the value `previous` has for that header;
 * throws OriginConfigError when there is none to keep. Anything that is not an HTTP config with
 * headers is returned unchanged.
 */
export function restoreRedacted(input: unknown, previous: OriginConfig | undefined): unknown {
  const headers = (input as { headers?: unknown } | null)?.headers;
  if (typeof headers !== "object" || headers === null) return input;
  const kept = previous?.kind === "http" ? (previous.headers ?? {}) : {};
  const restored: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== REDACTED) restored[name] = value;
    else if (name in kept) restored[name] = kept[name];
    else
      throw new OriginConfigError([`header "${name}" is ${REDACTED}, but no value is stored for it: send the header's value`], {
        namespace: (input as { namespace?: string }).namespace,
      });
  }
  return { ...(input as object), headers: restored };
}
