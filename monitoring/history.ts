import { api, APIError } from "encore.dev/api";
import { requireRole } from "../lib/auth/access";
import { isHistoryWindow, WINDOWS, type HistoryPoint, type Resolution } from "./core/history";
import { historyStore } from "./monitor";

interface HistoryParams {
  /** 1m, 5m, 1h or 24h; default 5m. */
  window?: string;
}

export interface MetricsHistory {
  window: string;
  /** The spacing of the points: 1s, 10s or 1m. */
  resolution: Resolution;
  points: HistoryPoint[];
}

/** The merged metrics over a window, from PostgreSQL, at the resolution that serves it. Viewer. */
export const history = api({ method: "GET", path: "/api/metrics/history", expose: true, auth: true }, async (p: HistoryParams): Promise<MetricsHistory> => {
  requireRole("viewer");
  const window = p.window ?? "5m";
  if (!isHistoryWindow(window)) throw APIError.invalidArgument(`"window" must be one of ${WINDOWS.join(", ")}; got "${window}"`);
  const { resolution, points } = await historyStore.query(window);
  return { window, resolution, points };
});
