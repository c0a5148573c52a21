import { api, APIError } from "encore.dev/api";
import { requireRole } from "../lib/auth/access";
import { readReports } from "../lib/metrics/report";
import { instanceRows, type InstanceRow } from "./core/snapshot";
import { redis } from "./config";

export interface InstancesView {
  at: string;
  instances: InstanceRow[];
  /** Reports present in Redis but malformed (instance and reason). */
  rejected: Array<{ instance: string; reason: string }>;
}

/** The instances reporting now (any service), with health and last report time. Viewer. */
export const instances = api({ method: "GET", path: "/api/instances", expose: true, auth: true }, async (): Promise<InstancesView> => {
  requireRole("viewer");
  const now = Date.now();
  try {
    const { reports, rejected } = await readReports(redis(), now);
    return { at: new Date(now).toISOString(), instances: instanceRows(reports, now), rejected };
  } catch (error) {
    throw APIError.unavailable(`cannot read the instance reports: ${(error as Error).message}`);
  }
});
