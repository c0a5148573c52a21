/** The Node host's `encore.dev`: request and app metadata. */
import type { AppMeta, RequestMeta } from "encore.dev";
import { currentContext } from "../runtime/reqctx.ts";
import { configReader } from "../../../lib/config/index.ts";
import { maybeHostState } from "../runtime/state.ts";

const hostConfig = configReader();

export type { AppMeta, RequestMeta, APICallMeta, PubSubMessageMeta, APIDesc, Method } from "encore.dev";

export function currentRequest(): RequestMeta | undefined {
  return currentContext()?.meta;
}

export function appMeta(): AppMeta {
  const state = maybeHostState();
  const config = hostConfig();
  return {
    appID: "cachet",
    apiBaseUrl: config.CACHET_PUBLIC_URL ?? `http://localhost:${config.PORT}`,
    environment: { name: "local", type: "development", cloud: "local" },
    build: { revision: "", uncommittedChanges: false },
    deploy: { id: state?.instanceId ?? "" },
    hostedServices: Object.fromEntries([...(state?.localServices ?? [])].map((name) => [name, { name }])),
  } as unknown as AppMeta;
}
