/**
 * Typed errors of the statistics code (sketches here, top-K in cache-manager/core/stats/), with stable codes. Both map to `invalid_argument` at the
 * edge: monitoring receives sketches over the wire and must answer a bad one with a 4xx.
 */

import { CodedError } from "../errors.ts";

/** An option, argument or serialized sketch is out of range; the message names it. */
export class StatsArgumentError extends CodedError {
  static override code = "E_STATS_INVALID_ARGUMENT";
}

/** Two sketches with different parameters (relative accuracy) cannot be merged. */
export class SketchMismatchError extends CodedError {
  static override code = "E_STATS_SKETCH_MISMATCH";
}
