import { useRef, useState } from "react";
import useSWR from "swr";
import { paths, type InstanceStats } from "../../api/cache";
import { monitoringPaths, type AlertsView, type InstancesView, type MetricsHistory, type MetricsSnapshot, type HistoryWindow } from "../../api/monitoring";
import { useSettings } from "../../lib/settings";
import { usePageVisible } from "../../lib/visibility";
import { historyRows, snapshotRates, type SnapshotSample } from "./series";

/**
 * Everything the Overview polls (history for `window`, the live snapshot, instances, alerts,
 * L2 stats), every `pollMs` while the tab is visible, and when any of it last arrived.
 * Invalidated/warmed rates come from consecutive snapshots kept in this session.
 */
export function useOverviewData(window: HistoryWindow) {
  const { pollMs } = useSettings();
  const visible = usePageVisible();
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const samples = useRef<SnapshotSample[]>([]);
  const poll = { refreshInterval: visible ? pollMs : 0, onSuccess: () => setUpdatedAt(Date.now()) };

  const history = useSWR<MetricsHistory>(monitoringPaths.history(window), poll);
  const snapshot = useSWR<MetricsSnapshot>(monitoringPaths.metrics, {
    ...poll,
    onSuccess: (s: MetricsSnapshot) => {
      setUpdatedAt(Date.now());
      samples.current = [...samples.current.slice(-300), { at: Date.parse(s.at) || Date.now(), totals: s.totals }];
    },
  });
  const instances = useSWR<InstancesView>(monitoringPaths.instances, poll);
  const alerts = useSWR<AlertsView>(monitoringPaths.alerts, poll);
  const stats = useSWR<InstanceStats>(paths.stats, poll);

  return {
    visible,
    updatedAt,
    history,
    rows: historyRows(history.data?.points ?? []),
    rates: snapshotRates(samples.current),
    snapshot,
    instances,
    alerts,
    stats,
  };
}
