/**
 * What the Lab endpoint takes and answers: the types the dashboard's Lab page imports
 * (`import type` only), and the shape every scenario returns.
 */

export const LAB_SCENARIOS = ["cache-aside", "write-modes", "stampede", "l2-outage", "coherence"] as const;
export type LabScenario = (typeof LAB_SCENARIOS)[number];

export interface LabRequest {
  scenario: string;
  /** Requests per variant (cache-aside, write-modes): 1 to 200, default 20. */
  samples?: number;
  /** The lab origin's latency per call, 0 to 1,000 ms (default 50; 100 for the stampede). */
  originLatencyMs?: number;
  /** Concurrent requests for the stampede: 2 to 1,000, default 200. */
  concurrency?: number;
}

/** A headline number. */
export interface LabMetric {
  label: string;
  value: number;
  unit: string;
}

/** One bar: `variant`'s value within `group` (e.g. group "p50", variant "L1 hit"). */
export interface LabBar {
  group: string;
  variant: string;
  value: number;
  unit: string;
}

/** One point of a line chart: `series` at `x` (see `xLabel`). */
export interface LabPoint {
  x: number;
  series: string;
  value: number;
}

/** A timeline annotation, e.g. "L2 down" at 500 ms. */
export interface LabEvent {
  x: number;
  label: string;
}

export interface LabResult {
  scenario: string;
  title: string;
  /** One sentence with the result. */
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

/** The validated parameters a scenario runs with. */
export interface ScenarioParams {
  samples: number;
  originLatencyMs: number;
  concurrency: number;
}

/** What a scenario measured; the endpoint adds the scenario name and timings. */
export type ScenarioOutcome = Omit<LabResult, "scenario" | "ranAt" | "durationMs">;

/** The parts of an outcome a scenario without charts of that kind leaves empty. */
export const BLANK = { bars: [], points: [], events: [], notes: [], xLabel: "", yLabel: "" };
