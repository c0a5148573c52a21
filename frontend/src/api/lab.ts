/** The Lab endpoint (cache-manager/lab.ts). */
import { api } from "./client";

export const LAB_SCENARIOS = ["cache-aside", "write-modes", "stampede", "l2-outage", "coherence"] as const;
export type LabScenario = (typeof LAB_SCENARIOS)[number];

export interface LabMetric {
  label: string;
  value: number;
  unit: string;
}
export interface LabBar {
  group: string;
  variant: string;
  value: number;
  unit: string;
}
export interface LabPoint {
  x: number;
  series: string;
  value: number;
}
export interface LabEvent {
  x: number;
  label: string;
}
export interface LabResult {
  scenario: string;
  title: string;
  summary: string;
  ranAt: string;
  durationMs: number;
  metrics: LabMetric[];
  bars: LabBar[];
  points: LabPoint[];
  xLabel: string;
  yLabel: string;
  events: LabEvent[];
  notes: string[];
}

export interface LabParams {
  samples?: number;
  originLatencyMs?: number;
  concurrency?: number;
}

export const runLab = (scenario: LabScenario, params: LabParams = {}) => api<LabResult>(`/api/lab/${scenario}`, { method: "POST", body: params });
