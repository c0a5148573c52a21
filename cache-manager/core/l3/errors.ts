/**
 * Typed L3 errors with stable codes. The layer above maps them: `E_L3_UNAVAILABLE` feeds the L3
 * breaker (the cache goes on without L3); the key errors are configuration faults to report at
 * start, never values to serve.
 */
import { CodedError } from "../../../lib/errors.ts";

export { L3KeyringError } from "../../../lib/l3-keyring.ts";

/**
 * `CACHE_L3_KEY` does not fit the entries already stored: a key id's key changed, or entries
 * are stored under a key id the keyring no longer holds. Thrown by `open`, before any read.
 */
export class L3KeyMismatchError extends CodedError {
  static override code = "E_L3_KEY_MISMATCH";
}

/** A stored payload could not be decrypted (wrong key, unknown key id, tampering, corruption). */
export class L3DecryptError extends CodedError {
  static override code = "E_L3_DECRYPT";
}

/** An argument the store refuses (a bad glob, a malformed cursor). */
export class L3ArgumentError extends CodedError {
  static override code = "E_L3_INVALID_ARGUMENT";
}

/** The backend could not serve the request (connection refused, timeout, server error). */
export class L3UnavailableError extends CodedError {
  static override code = "E_L3_UNAVAILABLE";

  /** Wraps any failure as unavailable, keeping the typed L3 errors as they are. */
  static from(error: unknown, what: string): Error {
    if (error instanceof CodedError && error.code.startsWith("E_L3_")) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new L3UnavailableError(`${what}: ${detail}`, { cause: error });
  }
}
