/**
 * Typed write-behind errors with stable codes, mapped at the edge: `E_WRITE_BEHIND_ARGUMENT` →
 * `invalid_argument`, `E_WRITE_BEHIND_FULL` → `resource_exhausted`, `E_WRITE_BEHIND_UNAVAILABLE`
 * → `unavailable`. A rejected `enqueue` means the write was NOT queued.
 */

import { CodedError } from "../../../lib/errors.ts";

export abstract class WriteBehindError extends CodedError {}

/** Bad options, key or value (e.g. a value with no JSON form). */
export class WriteBehindArgumentError extends WriteBehindError {
  static override code = "E_WRITE_BEHIND_ARGUMENT";
}

/** The queue already holds `maxDepth` keys awaiting their origin write; this new key was refused. */
export class WriteBehindFullError extends WriteBehindError {
  static override code = "E_WRITE_BEHIND_FULL";
}

/** Redis could not take the write; it was not queued. */
export class WriteBehindUnavailableError extends WriteBehindError {
  static override code = "E_WRITE_BEHIND_UNAVAILABLE";
}

/** An origin write ran past `writeTimeoutMs` (counted as a failed attempt). */
export class WriteBehindTimeoutError extends WriteBehindError {
  static override code = "E_WRITE_BEHIND_TIMEOUT";
}
