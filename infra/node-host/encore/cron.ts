/**
 * The Node host's `encore.dev/cron`: the same `CronJob` class as Encore's. Constructing one only
 * validates and records it; the host's `CronRuntime` (runtime/cron.ts) schedules the jobs listed
 * in the manifest and calls their endpoints.
 */
import type { CronJobConfig } from "encore.dev/cron";
import { registerCronJob } from "../runtime/cron.ts";

export type { CronJobConfig };

/** A job that calls `cfg.endpoint` on a fixed interval (`every`) or a cron `schedule`, in UTC. */
export class CronJob {
  public readonly name: string;
  public readonly cfg: CronJobConfig;

  /** Throws CronScheduleError when `every` or `schedule` is one Encore would reject. */
  constructor(name: string, cfg: CronJobConfig) {
    this.name = name;
    this.cfg = cfg;
    // The config type is a union; read both fields so a config that sets both is caught at runtime too.
    const timing = cfg as { every?: string; schedule?: string };
    registerCronJob({ id: name, title: cfg.title, every: timing.every, schedule: timing.schedule, endpoint: cfg.endpoint });
  }
}
