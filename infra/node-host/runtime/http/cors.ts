/**
 * CORS as Encore configures it: the `global_cors` block of `encore.app`.
 *
 * - `allow_origins_without_credentials`: origins that may read responses to requests without
 *   credentials (no `Authorization`, no cookies). Unset means every origin (`["*"]`), as in Encore.
 * - `allow_origins_with_credentials`: origins that may send credentials; they get the exact origin
 *   back and `Access-Control-Allow-Credentials: true`. Unset means none.
 * - `allow_headers` / `expose_headers`: added to the defaults below; `"*"` allows or exposes any.
 *
 * A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here with 204; a
 * disallowed origin gets the 204 without any `Access-Control-Allow-*` header, so the browser stops.
 * Other requests are served as usual, with the CORS headers only for allowed origins.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";

export interface GlobalCors {
  allow_origins_without_credentials?: string[];
  allow_origins_with_credentials?: string[];
  allow_headers?: string[];
  expose_headers?: string[];
}

const DEFAULT_ALLOW_HEADERS = ["accept", "authorization", "content-type", "origin", "x-requested-with", "x-request-id"];
const DEFAULT_EXPOSE_HEADERS = ["retry-after", "x-request-id"];
const METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";

/** Reads `global_cors` from the app's `encore.app` (JSON, `//` comments allowed); `{}` when absent. */
export function loadGlobalCors(appRoot: string): GlobalCors {
  let text: string;
  try {
    text = readFileSync(join(appRoot, "encore.app"), "utf8");
  } catch {
    return {};
  }
  const json = text.replace(/^\s*\/\/.*$/gm, "");
  const app = JSON.parse(json) as { global_cors?: GlobalCors };
  return app.global_cors ?? {};
}

const lower = (values: string[] | undefined) => (values ?? []).map((v) => v.toLowerCase());

export class CorsPolicy {
  private readonly anyWithout: boolean;
  private readonly without: Set<string>;
  private readonly withCredentials: Set<string>;
  private readonly anyHeader: boolean;
  private readonly allowHeaders: string;
  private readonly exposeHeaders: string;

  constructor(config: GlobalCors) {
    const without = config.allow_origins_without_credentials ?? ["*"];
    this.anyWithout = without.includes("*");
    this.without = new Set(lower(without));
    this.withCredentials = new Set(lower(config.allow_origins_with_credentials));
    const headers = [...DEFAULT_ALLOW_HEADERS, ...lower(config.allow_headers)];
    this.anyHeader = headers.includes("*");
    this.allowHeaders = [...new Set(headers.filter((h) => h !== "*"))].join(", ");
    const expose = [...DEFAULT_EXPOSE_HEADERS, ...lower(config.expose_headers)];
    this.exposeHeaders = expose.includes("*") ? "*" : [...new Set(expose)].join(", ");
  }

  /**
   * Adds the CORS headers for `req` to `res`. Returns true when the request was a preflight and
   * has been answered.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (typeof origin !== "string") return false;
    res.setHeader("vary", "Origin");
    const key = origin.toLowerCase();
    const credentialed = this.withCredentials.has(key);
    const sendsCredentials = !preflight && (req.headers.authorization !== undefined || req.headers.cookie !== undefined);
    const allowed = credentialed || (!sendsCredentials && (this.anyWithout || this.without.has(key)));
    // A preflight cannot say whether the real request will carry credentials; the browser checks
    // Access-Control-Allow-Credentials on it, so an origin only in the "without" list still gets
    // its preflight but a credentialed request from it is refused below.
    if (preflight) {
      if (allowed) this.preflightHeaders(req, res, origin, credentialed);
      res.writeHead(204, { "content-length": 0 });
      res.end();
      req.resume();
      return true;
    }
    if (allowed) {
      res.setHeader("access-control-allow-origin", credentialed || !this.anyWithout ? origin : "*");
      if (credentialed) res.setHeader("access-control-allow-credentials", "true");
      res.setHeader("access-control-expose-headers", this.exposeHeaders);
    }
    return false;
  }

  private preflightHeaders(req: IncomingMessage, res: ServerResponse, origin: string, credentialed: boolean): void {
    res.setHeader("access-control-allow-origin", credentialed || !this.anyWithout ? origin : "*");
    if (credentialed) res.setHeader("access-control-allow-credentials", "true");
    res.setHeader("access-control-allow-methods", METHODS);
    const requested = req.headers["access-control-request-headers"];
    res.setHeader("access-control-allow-headers", this.anyHeader && typeof requested === "string" ? requested : this.allowHeaders);
    res.setHeader("access-control-max-age", "7200");
  }
}
