/**
 * Typed errors of the resilience layer, each with a stable `code` (read it from the class or the
 * instance) and the underlying failure as `cause`. The endpoint layer maps them to `APIError`:
 *
 * | error                      | code                            | API code           |
 * | -------------------------- | ------------------------------- | ------------------ |
 * | `ResilienceArgumentError`  | `E_RESILIENCE_INVALID_ARGUMENT` | `invalid_argument` |
 * | `BreakerOpenError`         | `E_BREAKER_OPEN`                | `unavailable`      |
 * | `HardTimeoutError`         | `E_LOAD_HARD_TIMEOUT`           | `unavailable`      |
 * | `LeaseTimeoutError`        | `E_LEASE_TIMEOUT`               | `unavailable`      |
 * | `LeaseUnavailableError`    | `E_LEASE_UNAVAILABLE`           | `unavailable`      |
 *
 * Argument errors are programming or configuration mistakes (a negative TTL, a zero threshold);
 * they are thrown synchronously, before anything runs.
 */

import { CodedError } from "../../../lib/errors.ts";

/** An option or argument is out of range; the message names it and the accepted values. */
export class ResilienceArgumentError extends CodedError {
  static override code = "E_RESILIENCE_INVALID_ARGUMENT";
}

/**
 * The circuit breaker refused the call without running it: it is open, or half-open with all of
 * its trial calls in flight. `cause` is the failure that last opened it.
 */
export class BreakerOpenError extends CodedError {
  static override code = "E_BREAKER_OPEN";

  constructor(
    message: string,
    /** The breaker's name, for logs and metrics. */
    readonly breaker: string,
    /** Milliseconds until the breaker admits a trial call (0 when half-open and saturated). */
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An origin load ran past its hard timeout. The load was aborted through its `AbortSignal`;
 * a load that ignores the signal keeps running, but its result is discarded.
 */
export class HardTimeoutError extends CodedError {
  static override code = "E_LOAD_HARD_TIMEOUT";

  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`the origin load did not finish within its hard timeout of ${timeoutMs} ms`, options);
  }
}

/** A lease was still held by another instance when `waitFor` gave up. */
export class LeaseTimeoutError extends CodedError {
  static override code = "E_LEASE_TIMEOUT";

  constructor(
    readonly key: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`the lease on "${key}" was still held after waiting ${timeoutMs} ms`, options);
  }
}

/**
 * Redis could not serve a lease command (connection down, timeout). Callers fall back to
 * instance-local protection (single-flight) rather than failing the read.
 */
export class LeaseUnavailableError extends CodedError {
  static override code = "E_LEASE_UNAVAILABLE";
}
