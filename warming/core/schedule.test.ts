import { describe, expect, test } from "vitest";
import { FakeClock } from "../../lib/clock.ts";
import { ScheduleError } from "./errors.ts";
import { nextDue, parseSchedule, type Schedule } from "./schedule.ts";

const utc = (iso: string) => Date.parse(iso);
const isoList = (times: number[]) => times.map((t) => new Date(t).toISOString());

/**
 * Simulates the minute cron over [from, to) with a fake clock: each tick asks `nextDue` and,
 * when it returns a due time, records it and advances `scheduledThrough` (as enqueueDue does).
 */
function simulateTicks(schedule: Schedule, from: number, to: number, tickMs = 60_000): number[] {
  const clock = new FakeClock(from);
  let scheduledThrough = from;
  const runs: number[] = [];
  while (clock.now() < to) {
    const due = nextDue(schedule, scheduledThrough, clock.now());
    if (due !== null) {
      runs.push(due);
      scheduledThrough = due;
    }
    clock.advance(tickMs);
  }
  return runs;
}

describe("schedule preview", () => {
  test("gives the next 5 run times in the schedule's time zone", () => {
    const times = parseSchedule("0 9 * * 1-5", "America/New_York").preview(utc("2025-07-04T12:00:00Z"), 5);
    // Friday July 4th 09:00 EDT has passed at 12:00Z? No: 09:00 EDT = 13:00Z, still ahead.
    expect(isoList(times)).toEqual([
      "2025-07-04T13:00:00.000Z",
      "2025-07-07T13:00:00.000Z",
      "2025-07-08T13:00:00.000Z",
      "2025-07-09T13:00:00.000Z",
      "2025-07-10T13:00:00.000Z",
    ]);
  });

  test("the same local time moves in UTC when daylight saving ends", () => {
    const times = parseSchedule("0 9 * * *", "America/New_York").preview(utc("2025-11-01T00:00:00Z"), 3);
    expect(isoList(times)).toEqual(["2025-11-01T13:00:00.000Z", "2025-11-02T14:00:00.000Z", "2025-11-03T14:00:00.000Z"]);
  });

  test("a time zone east of UTC with a half-hour offset", () => {
    expect(isoList(parseSchedule("0 0 * * *", "Asia/Kolkata").preview(utc("2025-01-01T00:00:00Z"), 1))).toEqual(["2025-01-01T18:30:00.000Z"]);
  });

  test.each([
    ["", /"cron" is required/],
    ["* * * *", /must have 5 fields .* got 4/],
    ["0 * * * * *", /got 6 .*seconds are not supported/],
    ["61 * * * *", /field 1 \(minute\) "61" is invalid.*0-59/],
    ["0 25 * * *", /field 2 \(hour\) "25" is invalid.*0-23/],
    ["0 0 32 * *", /field 3 \(day-of-month\) "32"/],
    ["0 0 * 13 *", /field 4 \(month\) "13"/],
    ["0 0 * * 9", /field 5 \(day-of-week\) "9"/],
    ["a b c d e", /field 1 \(minute\) "a" is invalid/],
    ["0 0 30 2 *", /never matches/],
  ])("cron %j is refused with a message naming the problem", (cron, message) => {
    expect(() => parseSchedule(cron, "UTC")).toThrow(ScheduleError);
    expect(() => parseSchedule(cron, "UTC")).toThrow(message);
  });

  test("an unknown time zone is refused by name", () => {
    expect(() => parseSchedule("0 0 * * *", "Mars/Olympus")).toThrow(/unknown time zone "Mars\/Olympus"; use an IANA name/);
  });
});

describe("due times with a fake clock", () => {
  test("nothing is due before the first run time after the schedule started", () => {
    const schedule = parseSchedule("0 * * * *");
    const start = utc("2025-06-01T10:00:30Z");
    expect(nextDue(schedule, start, utc("2025-06-01T10:59:59Z"))).toBeNull();
    expect(nextDue(schedule, start, utc("2025-06-01T11:00:00Z"))).toBe(utc("2025-06-01T11:00:00Z"));
  });

  test("after downtime a job catches up once, with the latest missed due time", () => {
    const schedule = parseSchedule("*/5 * * * *");
    const through = utc("2025-06-01T10:00:00Z");
    // Three days down: 864 due times were missed; one run, for the last of them.
    expect(nextDue(schedule, through, utc("2025-06-04T10:02:00Z"))).toBe(utc("2025-06-04T10:00:00Z"));
    // A year of minutes (past the forward-walk bound) still gives the latest one.
    expect(nextDue(parseSchedule("* * * * *"), through, utc("2026-06-01T10:00:30Z"))).toBe(utc("2026-06-01T10:00:00Z"));
  });

  test("ticking every minute for a day runs an hourly job 24 times (01:00 to 00:00), each due time once", () => {
    const runs = simulateTicks(parseSchedule("0 * * * *"), utc("2025-06-01T00:00:30Z"), utc("2025-06-02T00:00:31Z"));
    expect(runs).toHaveLength(24);
    expect(new Set(runs).size).toBe(24);
  });

  test("spring forward (Europe/Berlin): the missing 02:30 runs once, at 03:30 local", () => {
    const runs = simulateTicks(parseSchedule("30 2 * * *", "Europe/Berlin"), utc("2025-03-29T12:00:00Z"), utc("2025-03-31T12:00:00Z"));
    expect(isoList(runs)).toEqual(["2025-03-30T01:30:00.000Z", "2025-03-31T00:30:00.000Z"]);
  });

  test("fall back (Europe/Berlin): the repeated 02:30 runs once, at its first occurrence", () => {
    const runs = simulateTicks(parseSchedule("30 2 * * *", "Europe/Berlin"), utc("2025-10-25T12:00:00Z"), utc("2025-10-27T12:00:00Z"));
    expect(isoList(runs)).toEqual(["2025-10-26T00:30:00.000Z", "2025-10-27T01:30:00.000Z"]);
  });

  test("fall back (America/New_York): an hourly job runs 25 times on the 25-hour local day", () => {
    const runs = simulateTicks(parseSchedule("0 * * * *", "America/New_York"), utc("2025-11-02T03:59:30Z"), utc("2025-11-03T04:59:31Z"));
    expect(runs).toHaveLength(25);
    expect(new Set(runs).size).toBe(25);
  });

  test("a tick that fires late still yields the due time it missed, and only once", () => {
    const schedule = parseSchedule("15 3 * * *", "Europe/Berlin");
    const through = utc("2025-06-01T00:00:00Z");
    const due = nextDue(schedule, through, utc("2025-06-01T01:20:00Z"));
    expect(due).toBe(utc("2025-06-01T01:15:00Z"));
    expect(nextDue(schedule, due!, utc("2025-06-01T01:21:00Z"))).toBeNull();
  });
});
