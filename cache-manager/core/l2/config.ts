/**
 * Picks the L2 mode from configuration: `single` (the control Redis itself), `cluster` (seed
 * nodes of a Redis Cluster) or `ring` (independent nodes on a consistent-hash ring with R
 * replicas). Node lists are `host:port` separated by commas.
 */
import type { Redis } from "ioredis";
import { createClusterL2 } from "./cluster";
import { L2ArgumentError } from "./errors";
import { createRingL2 } from "./ring";
import { createSingleL2 } from "./single";
import type { L2Mode, L2Store } from "./types";

export interface L2Config {
  mode?: string;
  /** `host:port,host:port`; required for cluster and ring. */
  nodes?: string;
  replicas?: number;
  prefix: string;
}

export function parseNodes(text: string | undefined): Array<{ host: string; port: number }> {
  return (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((node) => {
      const match = /^([^:\s]+):(\d{1,5})$/.exec(node);
      if (!match) throw new L2ArgumentError(`L2 node "${node}" is not host:port`);
      return { host: match[1], port: Number(match[2]) };
    });
}

/** Builds the configured L2 store; `single` reuses `client`. */
export async function createL2(config: L2Config, client: Redis): Promise<L2Store> {
  const mode = (config.mode || "single") as L2Mode;
  switch (mode) {
    case "single":
      return createSingleL2({ client, prefix: config.prefix });
    case "cluster":
      return createClusterL2({ nodes: requireNodes(config, mode), prefix: config.prefix });
    case "ring":
      return createRingL2({ nodes: requireNodes(config, mode), replicas: config.replicas, prefix: config.prefix });
    default:
      throw new L2ArgumentError(`CACHE_L2_MODE must be single, cluster or ring, got "${config.mode}"`);
  }
}

function requireNodes(config: L2Config, mode: string) {
  const nodes = parseNodes(config.nodes);
  if (nodes.length === 0) throw new L2ArgumentError(`CACHE_L2_MODE=${mode} needs CACHE_L2_NODES (host:port,host:port,...)`);
  return nodes;
}
