import type { Redis } from "ioredis";
import type { Manifest } from "../manifest/types.ts";
import type { RequestContext } from "./reqctx.ts";

/**
 * What the running host shares with the `encore.dev/*` shims. The shims are evaluated when the
 * app's modules load, before or after the host starts; they register themselves in `resources`
 * and reach infrastructure lazily through `hostState()`.
 */
export interface HostState {
  manifest: Manifest;
  /** Absolute path of the app root (where encore.app lives). */
  appRoot: string;
  /** The services this process serves. Others are reached over HTTP. */
  localServices: Set<string>;
  /** A shared Redis connection for commands (not for blocking reads). */
  redis: Redis;
  redisUrl: string;
  /** A unique, human-readable name for this process (`host-<pid>-<random>`). */
  instanceId: string;
  /** Key prefix for the host's own Redis keys (streams, locks). */
  keyPrefix: string;
  /** Calls an endpoint as a service-to-service call, in-process or over HTTP. */
  callEndpoint(service: string, endpoint: string, payload: unknown, authData?: RequestContext["authData"]): Promise<unknown>;
}

let state: HostState | undefined;

export function setHostState(next: HostState | undefined): void {
  state = next;
}

/** The running host's state; throws when no host is running in this process. */
export function hostState(): HostState {
  if (!state) {
    throw new Error("No Node host is running in this process: start one with startHost() (infra/node-host/host.ts) or run `npm start`.");
  }
  return state;
}

export function maybeHostState(): HostState | undefined {
  return state;
}
