import { api } from "encore.dev/api";
import { requireRole } from "../lib/auth/access";
import { parseSchedule } from "./core/schedule";
import { edge } from "./edge";

interface PreviewParams {
  /** 5-field cron expression, e.g. "0 4 * * *". */
  cron?: string;
  /** IANA time zone (default "UTC"). */
  tz?: string;
}

export interface SchedulePreview {
  cron: string;
  timeZone: string;
  /** The next 5 run times, ISO-8601 UTC. */
  next: string[];
}

/** The next 5 run times of a cron expression in a time zone, or 400 saying what is wrong. Viewer. */
export const schedulePreview = api(
  { method: "GET", path: "/api/warming/schedule-preview", expose: true, auth: true },
  async (p: PreviewParams): Promise<SchedulePreview> =>
    edge(async () => {
      requireRole("viewer");
      const schedule = parseSchedule(p.cron ?? "", p.tz === undefined || p.tz === "" ? "UTC" : p.tz);
      return { cron: schedule.cron, timeZone: schedule.timeZone, next: schedule.preview(Date.now(), 5).map((t) => new Date(t).toISOString()) };
    }),
);
