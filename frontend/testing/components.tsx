/**
 * Helpers for the component tests (`frontend/src/**\/*.test.tsx`, jsdom): the real components,
 * rendered in a memory router with SWR configured as the app does, and the network stubbed at the
 * browser's boundary — a fake `fetch` answering with the shapes `src/api/*` define. A path no
 * route claims answers like the deployed dashboard's fallback route (HTML), which the API client
 * reports as `not_deployed`.
 */
import { act, render } from "@testing-library/react";
import type { ReactElement } from "react";
import { createMemoryRouter, RouterProvider } from "react-router-dom";
import { SWRConfig } from "swr";
import { vi } from "vitest";
import type { Role } from "../src/api/cache";
import { fetcher } from "../src/api/client";
import { clearRejection } from "../src/lib/session";
import { updateSettings } from "../src/lib/settings";

export interface FakeRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** The bearer token sent, if any. */
  token?: string;
}

export type FakeReply = { status: number; json?: unknown; html?: string };
type Handler = (request: FakeRequest) => FakeReply | Promise<FakeReply>;

/** A JSON answer. */
export const ok = (json: unknown, status = 200): FakeReply => ({ status, json });
/** An Encore error answer (`{code, message, details}`). */
export const apiError = (status: number, code: string, message: string): FakeReply => ({ status, json: { code, message, details: null } });

export interface FakeApi {
  /** Answers `method path` (exact path, or a RegExp on it) with `reply`, a handler or a fixed answer. */
  on(method: string, path: string | RegExp, reply: Handler | FakeReply): FakeApi;
  /** Every request made so far, oldest first. */
  requests: FakeRequest[];
  /** Requests to `path` (with `method`, GET by default). */
  calls(path: string | RegExp, method?: string): FakeRequest[];
}

/** Replaces the global `fetch` (restored by `vi.unstubAllGlobals()` / `unstubGlobals: true`). */
export function fakeApi(): FakeApi {
  const routes: Array<{ method: string; path: string | RegExp; handler: Handler }> = [];
  const requests: FakeRequest[] = [];
  const matches = (pattern: string | RegExp, path: string) => (typeof pattern === "string" ? pattern === path : pattern.test(path));
  const api: FakeApi = {
    requests,
    on(method, path, reply) {
      routes.push({ method, path, handler: typeof reply === "function" ? reply : () => reply });
      return api;
    },
    calls: (path, method = "GET") => requests.filter((r) => r.method === method && matches(path, r.path)),
  };
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: string, init: RequestInit = {}) => {
      const url = new URL(input, "http://cachet.test");
      const request: FakeRequest = {
        method: init.method ?? "GET",
        path: decodeURIComponent(url.pathname),
        query: url.searchParams,
        body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
        token: (init.headers as Record<string, string> | undefined)?.authorization?.replace(/^Bearer /, ""),
      };
      requests.push(request);
      // The newest route wins, so a test can override a default.
      const route = [...routes].reverse().find((r) => r.method === request.method && matches(r.path, request.path));
      const reply = route ? await route.handler(request) : { status: 200, html: '<!doctype html><div id="root"></div>' };
      return reply.html !== undefined
        ? new Response(reply.html, { status: reply.status, headers: { "content-type": "text/html; charset=utf-8" } })
        : new Response(JSON.stringify(reply.json), { status: reply.status, headers: { "content-type": "application/json" } });
    }),
  );
  return api;
}

/** A token in Settings and a whoami answer with `role`, so pages enable what the role may do. */
export function signIn(api: FakeApi, role: Role = "operator"): void {
  clearRejection();
  updateSettings({ token: "test-token", readOnly: false });
  api.on("GET", "/api/auth/whoami", ok({ userID: `${role}-user`, role, namespaces: [] }));
}

/**
 * Renders `element` at `url` in a memory router, with the app's SWR fetcher and a cache of its
 * own (no state leaks between tests). `search()` is the URL's current query.
 */
export function renderAt(element: ReactElement, url = "/") {
  const router = createMemoryRouter([{ path: "*", element }], { initialEntries: [url] });
  const view = render(
    <SWRConfig value={{ fetcher, provider: () => new Map(), dedupingInterval: 0, shouldRetryOnError: false, revalidateOnFocus: false }}>
      <RouterProvider router={router} />
    </SWRConfig>,
  );
  return { ...view, router, search: () => new URLSearchParams(router.state.location.search) };
}

/** Advances fake timers by `ms` inside act, letting the promises they release settle. */
export async function advance(ms: number): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

/**
 * jsdom lays nothing out, so every element is 0 px tall and a virtualized list renders no rows:
 * give elements a height (the key list's scroller is what reads it). Returns the undo.
 */
export function layoutHeight(px: number): () => void {
  const original = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "clientHeight");
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => px });
  return () => {
    if (original) Object.defineProperty(HTMLElement.prototype, "clientHeight", original);
  };
}
