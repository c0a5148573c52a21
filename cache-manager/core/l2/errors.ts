/**
 * Typed L2 errors with stable codes. The layer above maps them: `E_L2_INVALID_ARGUMENT` and
 * `E_L2_INVALID_CURSOR` to `invalid_argument`, `E_L2_UNAVAILABLE` to `unavailable` (and to its
 * circuit breaker, which counts only this one).
 */

import { CodedError } from "../../../lib/errors.ts";

export class L2ArgumentError extends CodedError {
  static override code = "E_L2_INVALID_ARGUMENT";
}

/** The cursor is malformed or belongs to another topology (nodes changed): restart the scan. */
export class L2CursorError extends CodedError {
  static override code = "E_L2_INVALID_CURSOR";
}

/** Redis could not serve the request (connection down, timeout, every replica failed). */
export class L2UnavailableError extends CodedError {
  static override code = "E_L2_UNAVAILABLE";

  /** Wraps any failure as unavailable, keeping typed L2 errors as they are. */
  static from(error: unknown, what: string): Error {
    if (error instanceof L2UnavailableError || error instanceof L2ArgumentError || error instanceof L2CursorError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new L2UnavailableError(`${what}: ${detail}`, { cause: error });
  }
}
