/**
 * Cluster metrics: `/metrics` for Prometheus (every live instance, `instance` label), the merged
 * snapshot, its live stream, and the merged top keys.
 */
import { timingSafeEqual } from "node:crypto";
import { api, APIError } from "encore.dev/api";
import { secret } from "encore.dev/config";
import { requireRole } from "../lib/auth/access";
import { readReports } from "../lib/metrics/report";
import { renderPrometheus } from "./core/prometheus";
import { mergeTopKeys, type MetricsSnapshot, type TopKeysView } from "./core/snapshot";
import { redis } from "./config";
import { monitor } from "./monitor";

/** Optional bearer token for `/metrics`; unset (the default) leaves it open to scrapers. */
const metricsToken = secret("METRICS_TOKEN");

function configuredToken(): string {
  try {
    return metricsToken() ?? "";
  } catch {
    return ""; // not set
  }
}

function authorized(header: string | undefined): boolean {
  const token = configuredToken();
  if (!token) return true;
  const given = Buffer.from(/^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1] ?? "");
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** Prometheus text exposition of every live instance's metrics. Open unless METRICS_TOKEN is set. */
export const prometheusMetrics = api.raw({ method: "GET", path: "/metrics", expose: true, auth: false }, async (req, res) => {
  if (!authorized(req.headers.authorization)) {
    res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" });
    res.end(JSON.stringify({ code: "unauthenticated", message: "this /metrics needs Authorization: Bearer <METRICS_TOKEN>", details: null }));
    return;
  }
  try {
    // Read at scrape time: Prometheus sees the reports as they are now, not a tick ago.
    const { reports } = await readReports(redis());
    const { text, contentType } = await renderPrometheus(reports);
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
    res.end(text);
  } catch (error) {
    res.writeHead(503, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "unavailable", message: `metrics unavailable: ${(error as Error).message}`, details: null }));
  }
});

/** The merged snapshot: hit ratio, ops/s and p50–p99 by tier, sizes, per-instance rows. Viewer. */
export const metrics = api({ method: "GET", path: "/api/metrics", expose: true, auth: true }, async (): Promise<MetricsSnapshot> => {
  requireRole("viewer");
  return snapshotOrUnavailable();
});

/** The snapshot, once a second, until the client disconnects. Viewer. */
export const live = api.streamOut<MetricsSnapshot>({ path: "/api/metrics/live", expose: true, auth: true }, async (stream) => {
  requireRole("viewer");
  let lastAt = "";
  for (;;) {
    const snapshot = await snapshotOrUnavailable();
    if (snapshot.at !== lastAt) {
      lastAt = snapshot.at;
      try {
        await stream.send(snapshot);
      } catch {
        return; // the client went away
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
});

/** The most hit and most missed keys across instances (decayed counts). Viewer. */
export const topKeys = api({ method: "GET", path: "/api/metrics/top-keys", expose: true, auth: true }, async (): Promise<TopKeysView> => {
  requireRole("viewer");
  try {
    return mergeTopKeys(await monitor.reports());
  } catch (error) {
    throw APIError.unavailable(`metrics unavailable: ${(error as Error).message}`);
  }
});

async function snapshotOrUnavailable(): Promise<MetricsSnapshot> {
  try {
    return await monitor.snapshot();
  } catch (error) {
    throw APIError.unavailable(`metrics unavailable: ${(error as Error).message}`);
  }
}
