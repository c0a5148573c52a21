/**
 * Typed coherence errors with stable codes. The layer above maps them: `E_COHERENCE_INVALID_ARGUMENT`
 * to `invalid_argument` (a bug or a bad configuration), `E_COHERENCE_PUBLISH_TIMEOUT` and
 * `E_COHERENCE_CLOSED` to `unavailable` (the write must not be acknowledged).
 */

import { CodedError } from "../../../lib/errors.ts";

export class CoherenceArgumentError extends CodedError {
  static override code = "E_COHERENCE_INVALID_ARGUMENT";
}

/**
 * An announcement was not durable in Redis within `publishTimeoutMs`. The bus keeps retrying it in
 * the background (in order), so the other instances still hear it once Redis is back.
 */
export class CoherencePublishError extends CodedError {
  static override code = "E_COHERENCE_PUBLISH_TIMEOUT";
}

/** The bus was stopped: nothing more can be announced, and waits still pending are released. */
export class CoherenceClosedError extends CodedError {
  static override code = "E_COHERENCE_CLOSED";
}

/** The coherence stream's Redis could not be reached when it had to be (`start()`). */
export class CoherenceUnavailableError extends CodedError {
  static override code = "E_COHERENCE_UNAVAILABLE";
}
