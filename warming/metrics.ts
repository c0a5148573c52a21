/**
 * Warming's metrics, published every second for monitoring (lib/metrics/report.ts):
 * counters `warming_runs{status}`, `warmed_keys`, `warming_failed_keys`, `warming_reaped_runs`;
 * gauges `warming_queue_depth` (queued runs, cluster-wide), `warming_running` (runs executing
 * in this instance) and `warming_running_cluster` (cluster-wide; a gauge, so no `_total` suffix).
 */
import type { Redis } from "ioredis";
import { startReporter, type MetricSample } from "../lib/metrics/report";
import type { WarmingEngine, WarmingEvent } from "./core/engine";
import type { WarmingRepository } from "./core/repository";

class WarmingCounters {
  readonly runs = new Map<string, number>();
  warmed = 0;
  failed = 0;
  reaped = 0;

  record(event: WarmingEvent): void {
    if (event.type === "run-finished") this.runs.set(event.status, (this.runs.get(event.status) ?? 0) + 1);
    else if (event.type === "keys") {
      this.warmed += event.warmed;
      this.failed += event.failed;
    } else if (event.type === "reaped") this.reaped += event.runIds.length;
  }

  samples(): MetricSample[] {
    const statuses = ["succeeded", "failed", "cancelled"];
    return [
      ...statuses.map((status) => ({ name: "warming_runs", labels: { status }, value: this.runs.get(status) ?? 0 })),
      { name: "warmed_keys", value: this.warmed },
      { name: "warming_failed_keys", value: this.failed },
      { name: "warming_reaped_runs", value: this.reaped },
    ];
  }
}

export const warmingMetrics = new WarmingCounters();

let reporter: { stop(): Promise<void> } | undefined;

export function startWarmingMetrics(options: { redis: Redis; instanceId: string; engine: () => WarmingEngine | undefined; repo: WarmingRepository }): void {
  if (reporter) return;
  let depth = { queued: 0, running: 0 };
  reporter = startReporter({
    redis: options.redis,
    service: "warming",
    instanceId: options.instanceId,
    collect: async () => {
      depth = await options.repo.queueDepth().catch(() => depth);
      return {
        counters: warmingMetrics.samples(),
        gauges: [
          { name: "warming_queue_depth", value: depth.queued },
          { name: "warming_running", value: options.engine()?.runningHere ?? 0 },
          { name: "warming_running_cluster", value: depth.running },
        ],
        sketches: [],
      };
    },
  });
}
