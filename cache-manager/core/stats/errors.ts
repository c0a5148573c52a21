/**
 * Typed errors of the statistics layer, with stable codes. Both map to `invalid_argument` at the
 * edge: monitoring receives sketches over the wire and must answer a bad one with a 4xx.
 */

/** An option, argument or serialized sketch is out of range; the message names it. */
export class StatsArgumentError extends Error {
  static readonly code = "E_STATS_INVALID_ARGUMENT";
  readonly code = StatsArgumentError.code;
  override readonly name = "StatsArgumentError";
}

/** Two sketches with different parameters (relative accuracy) cannot be merged. */
export class SketchMismatchError extends Error {
  static readonly code = "E_STATS_SKETCH_MISMATCH";
  readonly code = SketchMismatchError.code;
  override readonly name = "SketchMismatchError";
}
