/** The Lab endpoint; the types are cache-manager/lab/types.ts's own (`import type` only). */
import type { LabRequest, LabResult as ServiceLabResult, LabScenario as ServiceLabScenario } from "../../../cache-manager/lab/types";
import { api } from "./client";
import type { Assert, Same, Wire } from "./wire";

/**
 * A copy of cache-manager/lab/types.ts's LAB_SCENARIOS: the dashboard needs the list at run time, and
 * importing the value would pull the service's code into the bundle. `_SameScenarios` fails to
 * compile when the copy and the service's list differ.
 */
export const LAB_SCENARIOS = ["cache-aside", "write-modes", "stampede", "l2-outage", "coherence"] as const;
export type LabScenario = (typeof LAB_SCENARIOS)[number];
type _SameScenarios = Assert<Same<LabScenario, ServiceLabScenario>>;

export type LabResult = Wire<ServiceLabResult>;
export type LabMetric = LabResult["metrics"][number];
export type LabBar = LabResult["bars"][number];
export type LabPoint = LabResult["points"][number];
export type LabEvent = LabResult["events"][number];
/** The request body: the scenario travels in the path. */
export type LabParams = Omit<Wire<LabRequest>, "scenario">;

export const runLab = (scenario: LabScenario, params: LabParams = {}) => api<LabResult>(`/api/lab/${scenario}`, { method: "POST", body: params });
