/**
 * The one way the dashboard calls the API: same origin, bearer token from Settings, Encore's
 * error body `{code, message, details}` turned into an ApiError. An endpoint that answers with
 * something other than JSON is one this deployment does not have (the dashboard's fallback route
 * serves index.html for every unknown path): that is `not_deployed`, which pages show as such.
 */
import { reportRejected } from "../lib/session";
import { getSettings } from "../lib/settings";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The backend for this call is not part of this deployment (yet). */
  get notDeployed(): boolean {
    return this.code === "not_deployed" || (this.status === 404 && this.code === "not_found" && /no endpoint/.test(this.message));
  }
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** A token to try instead of the one in Settings (the sign-in screen checks one before keeping it). */
  token?: string;
}

/** `path` with the query's defined values appended. */
export function withQuery(path: string, query: RequestOptions["query"] = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const token = options.token ?? getSettings().token;
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "network", `cannot reach the API: ${(error as Error).message}`);
  }
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("application/json")) {
    if (response.ok && response.status === 204) return undefined as T;
    throw new ApiError(404, "not_deployed", `${options.method ?? "GET"} ${path.split("?")[0]} is not available on this deployment`);
  }
  const body = (await response.json().catch(() => null)) as any;
  if (!response.ok) {
    // The kept token stopped working (expired, revoked): the session gate asks for a new one.
    if (response.status === 401 && options.token === undefined && token) reportRejected(token, body?.message ?? "the token was rejected");
    throw new ApiError(response.status, body?.code ?? "unknown", body?.message ?? `HTTP ${response.status}`, body?.details);
  }
  return body as T;
}

/** SWR's fetcher: the key is the path (with its query). */
export const fetcher = <T>(path: string) => api<T>(path);
