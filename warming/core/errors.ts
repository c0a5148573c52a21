/**
 * Warming's typed errors: a stable code each, mapped to an API error at the edge (warming/edge.ts).
 */
import { CodedError } from "../../lib/errors.ts";

/** The caller sent something unusable; the message says what to change. */
export class WarmingInputError extends CodedError {
  static override code = "E_WARMING_INPUT";
}

/** A cron expression or time zone that cannot be scheduled. */
export class ScheduleError extends CodedError {
  static override code = "E_WARMING_SCHEDULE";
}

export class WarmingNotFoundError extends CodedError {
  static override code = "E_WARMING_NOT_FOUND";
}

/** The request clashes with the current state (a duplicate name, a finished run). */
export class WarmingConflictError extends CodedError {
  static override code = "E_WARMING_CONFLICT";
}

/** Cancel on a run that already finished. */
export class WarmingStateError extends CodedError {
  static override code = "E_WARMING_STATE";
}
