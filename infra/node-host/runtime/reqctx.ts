import { AsyncLocalStorage } from "node:async_hooks";
import type { RequestMeta } from "encore.dev";

/** What the host knows about the request being served: Encore's request meta and auth data. */
export interface RequestContext {
  meta?: RequestMeta;
  /** The auth handler's result, when the caller authenticated. */
  authData?: Record<string, unknown> & { userID: string };
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with `ctx` as the current request (for `currentRequest()` and `getAuthData()`). */
export function runWithRequest<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}
