/**
 * The runtime behind `~encore/clients`: `cache_manager.get({key})` becomes a service-to-service
 * call, served in-process when the target service runs here and over HTTP otherwise. The
 * generated module (see cli/generate.ts) calls `serviceClient` once per service.
 */
import type { CallOpts } from "../encore/api.ts";
import { currentContext, type RequestContext } from "./reqctx.ts";

type AuthData = RequestContext["authData"];
import { hostState } from "./state.ts";

type ClientFn = (...args: unknown[]) => Promise<unknown>;

export function serviceClient(service: string): Record<string, ClientFn> {
  const cache = new Map<string, ClientFn>();
  return new Proxy({} as Record<string, ClientFn>, {
    get(_target, name) {
      if (typeof name !== "string" || name === "then") return undefined;
      let fn = cache.get(name);
      if (!fn) {
        const takesParams = Boolean(hostState().manifest.endpoints.find((e) => e.service === service && e.name === name)?.request);
        fn = (...args: unknown[]) => {
          // Endpoints without params take the call options first: `svc.health({ authData })`.
          const [payload, opts] = takesParams ? args : [undefined, args[0]];
          const authData = (opts as CallOpts | undefined)?.authData ?? currentContext()?.authData;
          return hostState().callEndpoint(service, name, payload, authData as AuthData | undefined);
        };
        cache.set(name, fn);
      }
      return fn;
    },
  });
}
