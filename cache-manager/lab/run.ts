/**
 * The Lab: the cache's mechanisms demonstrated against the live Redis, for the dashboard's Lab
 * page. `POST /api/lab/:scenario` (admin) runs one scenario (./scenarios/, one file each) on a
 * rig of its own (./rig.ts) and answers with numbers to chart. One scenario at a time per
 * instance; every key a run wrote is deleted afterwards.
 */
import { api, APIError } from "encore.dev/api";
import { requireRole } from "../../lib/auth/access";
import { edge } from "../errors";
import { LabRig } from "./rig";
import { cacheAside } from "./scenarios/cache-aside";
import { coherence } from "./scenarios/coherence";
import { l2Outage } from "./scenarios/l2-outage";
import { stampede } from "./scenarios/stampede";
import { writeModes } from "./scenarios/write-modes";
import { LAB_SCENARIOS, type LabRequest, type LabResult, type LabScenario, type ScenarioOutcome, type ScenarioParams } from "./types";

const RUNNERS: Record<LabScenario, (rig: LabRig, p: ScenarioParams) => Promise<ScenarioOutcome>> = {
  "cache-aside": cacheAside,
  "write-modes": writeModes,
  stampede,
  "l2-outage": l2Outage,
  coherence,
};

function intIn(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw APIError.invalidArgument(`"${name}" must be a whole number from ${min} to ${max}`);
  return v;
}

let running: string | undefined;

/** Runs one Lab scenario against this deployment's Redis and reports what it measured. Admin. */
export const runLab = api({ method: "POST", path: "/api/lab/:scenario", expose: true, auth: true }, async (req: LabRequest): Promise<LabResult> =>
  edge(async () => {
    requireRole("admin");
    if (!(LAB_SCENARIOS as readonly string[]).includes(req.scenario)) {
      throw APIError.notFound(`no lab scenario "${req.scenario}"; the scenarios are ${LAB_SCENARIOS.join(", ")}`);
    }
    const scenario = req.scenario as LabScenario;
    const params: ScenarioParams = {
      samples: intIn("samples", req.samples, 20, 1, 200),
      originLatencyMs: intIn("originLatencyMs", req.originLatencyMs, scenario === "stampede" ? 100 : 50, 0, 1_000),
      concurrency: intIn("concurrency", req.concurrency, 200, 2, 1_000),
    };
    if (running) throw APIError.resourceExhausted(`the "${running}" scenario is running on this instance; try again when it finishes`);
    running = scenario;
    const started = performance.now();
    let rig: LabRig | undefined;
    try {
      rig = await LabRig.open();
      const outcome = await RUNNERS[scenario](rig, params);
      return { scenario, ranAt: new Date().toISOString(), durationMs: Math.round(performance.now() - started), ...outcome };
    } finally {
      running = undefined;
      await rig?.close().catch(() => undefined);
    }
  }),
);
