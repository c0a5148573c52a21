/**
 * Cron schedules in a time zone: validation with messages that name the problem, the next run
 * times, and the due time a scheduler tick must enqueue.
 *
 * Due times follow cron-parser's forward iteration (`next()`), so daylight-saving changes behave
 * like this (Europe/Berlin, `30 2 * * *`):
 * - spring forward (02:00 → 03:00): the missing 02:30 runs at 03:30 local, once;
 * - fall back (03:00 → 02:00): 02:30 happens twice, the job runs at the first one only.
 * Schedules with a fixed UTC period (`0 * * * *`, `*\/15 * * * *`) run every period, 25 hours on the
 * long day included.
 */
import { CronExpressionParser } from "cron-parser";
import { ScheduleError } from "./errors.ts";

const FIELD_NAMES = ["minute", "hour", "day-of-month", "month", "day-of-week"] as const;
const FIELD_RANGES = ["0-59", "0-23", "1-31", "1-12", "0-7, 0 and 7 = Sunday"] as const;
/** Forward steps a catch-up walks before it jumps back from `now` instead. */
const MAX_CATCH_UP_STEPS = 2_000;

export interface Schedule {
  readonly cron: string;
  readonly timeZone: string;
  /** The first run time strictly after `epochMs`. */
  nextAfter(epochMs: number): number;
  /** The next `count` run times after `epochMs`. */
  preview(epochMs: number, count: number): number[];
}

/** Throws ScheduleError unless `tz` is an IANA time zone name the runtime knows. */
export function validateTimeZone(tz: string): string {
  if (typeof tz !== "string" || tz.trim() === "") throw new ScheduleError('"tz" must be an IANA time zone name such as "UTC" or "Europe/Berlin"');
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: tz.trim() }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleError(`"tz": unknown time zone "${tz}"; use an IANA name such as "UTC", "Europe/Berlin" or "America/New_York"`);
  }
}

function parse(cron: string, timeZone: string, from: number) {
  return CronExpressionParser.parse(cron, { currentDate: new Date(from), tz: timeZone });
}

/**
 * Validates a 5-field cron expression and a time zone and returns the schedule. Errors name the
 * field and the allowed range, e.g. `"cron" field 2 (hour) is invalid: Constraint error, got
 * value 25 expected range 0-23`.
 *
 * @example
 * parseSchedule("0 4 * * *", "Europe/Berlin").preview(Date.now(), 5)
 */
export function parseSchedule(cron: string, tz = "UTC"): Schedule {
  if (typeof cron !== "string" || cron.trim() === "")
    throw new ScheduleError('"cron" is required: 5 fields "minute hour day-of-month month day-of-week", e.g. "0 4 * * *"');
  const timeZone = validateTimeZone(tz);
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new ScheduleError(
      `"cron" must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length} in "${cron}"${fields.length === 6 ? "; seconds are not supported" : ""}`,
    );
  }
  fields.forEach((field, i) => {
    const probe = FIELD_NAMES.map((_, j) => (j === i ? field : "*")).join(" ");
    try {
      parse(probe, "UTC", 0).next();
    } catch (error) {
      throw new ScheduleError(
        `"cron" field ${i + 1} (${FIELD_NAMES[i]}) "${field}" is invalid: ${(error as Error).message} (allowed: ${FIELD_RANGES[i]}, *, lists, ranges, steps)`,
        {
          cause: error,
        },
      );
    }
  });
  const normalized = fields.join(" ");
  try {
    parse(normalized, timeZone, 0).next();
  } catch (error) {
    throw new ScheduleError(`"cron" "${cron}" never matches a date: ${(error as Error).message}`, { cause: error });
  }
  return {
    cron: normalized,
    timeZone,
    nextAfter: (epochMs) => parse(normalized, timeZone, epochMs).next().getTime(),
    preview(epochMs, count) {
      const it = parse(normalized, timeZone, epochMs);
      return Array.from({ length: count }, () => it.next().getTime());
    },
  };
}

/**
 * The due time a tick at `now` must enqueue for a job whose due times up to `scheduledThrough`
 * are already handled, or null when none has come. After downtime it returns only the latest
 * missed due time: a job catches up once, not once per missed tick.
 */
export function nextDue(schedule: Schedule, scheduledThrough: number, now: number): number | null {
  let due = schedule.nextAfter(scheduledThrough);
  if (due > now) return null;
  for (let step = 0; step < MAX_CATCH_UP_STEPS; step++) {
    const following = schedule.nextAfter(due);
    if (following > now) return due;
    due = following;
  }
  // A long outage of a fine-grained schedule: jump to the last run time before now.
  const latest = parse(schedule.cron, schedule.timeZone, now + 1)
    .prev()
    .getTime();
  return Math.max(latest, due);
}
