/** The monitoring service's API; the types are monitoring/*.ts's own (`import type` only). */
import type { AlertsView as ServiceAlertsView } from "../../../monitoring/alerts";
import type { AlertEpisode as ServiceAlertEpisode } from "../../../monitoring/core/alert-store";
import type { HistoryPoint as ServiceHistoryPoint, HistoryWindow as ServiceHistoryWindow, TierValues } from "../../../monitoring/core/history";
import type {
  InstanceRow as ServiceInstanceRow,
  MetricsSnapshot as ServiceMetricsSnapshot,
  TopKeysView as ServiceTopKeysView,
} from "../../../monitoring/core/snapshot";
import type { MetricsHistory as ServiceMetricsHistory } from "../../../monitoring/history";
import type { InstancesView as ServiceInstancesView } from "../../../monitoring/instances";
import type { RequestTier } from "../../../lib/metrics/names";
import type { Assert, Same, Wire } from "./wire";

/**
 * A copy of lib/metrics/names.ts's REQUEST_TIERS (the tiers a read is answered by), in their
 * order through the cache; `_SameTiers` fails to compile when the lists differ.
 */
export const TIERS = ["l1", "l2", "l3", "origin"] as const;
export type Tier = (typeof TIERS)[number];
type _SameTiers = Assert<Same<Tier, RequestTier>>;

/**
 * A copy of monitoring/core/history.ts's WINDOWS: the dashboard needs the list at run time, and
 * importing the value would pull the service's code into the bundle. `_SameWindows` fails to
 * compile when the lists differ.
 */
export const WINDOWS = ["1m", "5m", "1h", "24h"] as const;
export type HistoryWindow = (typeof WINDOWS)[number];
type _SameWindows = Assert<Same<HistoryWindow, ServiceHistoryWindow>>;

export type InstanceRow = Wire<ServiceInstanceRow>;
export type MetricsSnapshot = Wire<ServiceMetricsSnapshot>;
export type InstancesView = Wire<ServiceInstancesView>;
export type AlertEpisode = Wire<ServiceAlertEpisode>;
export type AlertsView = Wire<ServiceAlertsView>;
export type TopKeysView = Wire<ServiceTopKeysView>;

type TierMs = Wire<TierValues>;

/**
 * monitoring/core/history.ts's HistoryPoint, plus series monitoring does not report (yet): the
 * dashboard charts them when a point has them, so they are optional here on purpose.
 */
export type HistoryPoint = Wire<ServiceHistoryPoint> & {
  p90Ms?: TierMs;
  p95Ms?: TierMs;
  invalidatedKeysPerSecond?: number;
  warmedKeysPerSecond?: number;
};

/** monitoring/history.ts's MetricsHistory, with the points above. */
export type MetricsHistory = Omit<Wire<ServiceMetricsHistory>, "points"> & { points: HistoryPoint[] };

export const monitoringPaths = {
  metrics: "/api/metrics",
  history: (window: HistoryWindow) => `/api/metrics/history?window=${window}`,
  instances: "/api/instances",
  alerts: "/api/alerts",
  topKeys: "/api/metrics/top-keys",
};
