import { api } from "encore.dev/api";
import { edge } from "./edge";
import { enqueueKeys } from "./enqueue";

interface RewarmRequest {
  keys: string[];
  namespace?: string;
  /** Why (e.g. "invalidation 42"); kept on the run. */
  reason?: string;
}

export interface RewarmResponse {
  runId: number;
}

/** Warms keys that were just invalidated (the invalidation service's `rewarm` flag), at priority 8. */
export const rewarm = api({ method: "POST", path: "/internal/warming/rewarm", expose: false }, async (p: RewarmRequest): Promise<RewarmResponse> =>
  edge(async () => ({ runId: await enqueueKeys({ keys: p.keys, namespace: p.namespace, reason: p.reason, trigger: "rewarm", priority: 8 }) })),
);
