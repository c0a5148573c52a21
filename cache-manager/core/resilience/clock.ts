/**
 * The clock moved to lib/clock.ts (one Clock for the whole app). This re-export keeps
 * `core/tiered.ts`, which is being split on another branch, compiling unchanged; new code imports
 * lib/clock.ts.
 */
export * from "../../../lib/clock.ts";
