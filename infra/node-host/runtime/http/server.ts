/**
 * The host's HTTP server: Encore's routing, decoding, auth and error wire format on `node:http`.
 * Plain `node:http` (no framework) keeps the per-request overhead close to the bare server, which
 * the cache's L1-hit latency depends on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { WebSocketServer } from "ws";
import log from "../../encore/log.ts";
import { APIError, ErrCode, toWireError } from "../../encore/errors.ts";
import type { StaticOptions } from "../../encore/api.ts";
import type { Authenticator, AuthData } from "../auth.ts";
import type { BoundEndpoint } from "../endpoints.ts";
import { runWithRequest, type RequestContext } from "../reqctx.ts";
import { BodyTooLargeError, DEFAULT_BODY_LIMIT, readJsonBody } from "./body.ts";
import { CorsPolicy, loadGlobalCors, type GlobalCors } from "./cors.ts";
import type { Decoder, RawInput } from "./decode.ts";
import { Router } from "./router.ts";
import { serveStatic } from "./static.ts";
import { DEFAULT_STREAM_LIMITS, serveSocket, type StreamLimits } from "./stream.ts";
import { nameRequest, serveTraced, tracingEnabled } from "../tracing.ts";
import { responseJsonOf, type ResponseJson } from "../../../../lib/response-json.ts";

/** Headers a trusted service-to-service call carries. */
export const INTERNAL_HEADER = "x-cachet-internal";
export const AUTH_DATA_HEADER = "x-cachet-auth-data";

export interface HttpServerOptions {
  endpoints: BoundEndpoint[];
  decoder: Decoder;
  authenticator?: Authenticator;
  /** Shared secret that marks service-to-service calls (which may reach unexposed endpoints). */
  internalSecret: string;
  appRoot: string;
  /** CORS policy; read from `encore.app`'s `global_cors` when unset. */
  cors?: GlobalCors;
  /** What a WebSocket client may send and leave unread (stream.ts); the defaults when unset. */
  streamLimits?: StreamLimits;
}

const BODYLESS = new Set(["GET", "HEAD", "DELETE"]);
const JSON_TYPE = "application/json; charset=utf-8";

type ApiMeta = Extract<NonNullable<RequestContext["meta"]>, { type: "api-call" }>["api"];

/**
 * The query of a URL without one. Shared: decoding and the auth handler only read the query, so
 * a request without `?` does not pay for a URLSearchParams of its own.
 */
const NO_QUERY = new URLSearchParams();
const queryOf = (url: string, q: number) => (q === -1 ? NO_QUERY : new URLSearchParams(url.slice(q + 1)));

export class HttpServer {
  readonly server: Server;
  private readonly router = new Router<BoundEndpoint>();
  private readonly sockets: WebSocketServer;
  private readonly streamLimits: StreamLimits;
  private readonly internalSecret: Buffer;
  private readonly cors: CorsPolicy;
  /** Per endpoint, the `api` part of its request meta: the same for every request. */
  private readonly apiMeta = new Map<BoundEndpoint, ApiMeta>();
  private inFlight = 0;
  private drained?: () => void;
  private closing = false;

  constructor(private readonly options: HttpServerOptions) {
    for (const endpoint of options.endpoints) {
      this.router.add(endpoint.manifest.methods, endpoint.manifest.path, endpoint);
      const { manifest } = endpoint;
      this.apiMeta.set(
        endpoint,
        Object.freeze({
          service: manifest.service,
          endpoint: manifest.name,
          raw: endpoint.definition.kind === "raw",
          auth: manifest.auth,
          tags: manifest.tags,
        }),
      );
    }
    this.streamLimits = options.streamLimits ?? DEFAULT_STREAM_LIMITS;
    // No permessage-deflate (a compressed frame could inflate past the limit before it is checked).
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: this.streamLimits.maxMessageBytes, perMessageDeflate: false });
    this.internalSecret = Buffer.from(options.internalSecret);
    this.cors = new CorsPolicy(options.cors ?? loadGlobalCors(options.appRoot));
    this.server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.handle(req, res));
    this.server.on("upgrade", (req, socket, head) => void this.upgrade(req, socket as Socket, head));
    this.server.on("clientError", (_err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    });
  }

  listen(port: number, host = "0.0.0.0"): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        const address = this.server.address();
        resolve(typeof address === "object" && address ? address.port : port);
      });
    });
  }

  /**
   * Graceful close: stop accepting connections, let in-flight requests finish (at most
   * `timeoutMs`), then drop idle keep-alive connections and open sockets.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inFlight > 0) {
      await Promise.race([new Promise<void>((resolve) => (this.drained = resolve)), sleep(timeoutMs)]);
    }
    for (const client of this.sockets.clients) client.close(1001, "server shutting down");
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (tracingEnabled) return serveTraced(req, res, () => void this.serve(req, res));
    void this.serve(req, res);
  }

  /**
   * Serves one request and never rejects: a failure is answered in Encore's error format. One
   * async function for the whole request, so that its only promises besides this one are the
   * auth handler's and the endpoint's (each promise runs Node 20's AsyncLocalStorage hooks).
   */
  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    if (this.closing) res.setHeader("connection", "close");
    try {
      if (this.cors.handle(req, res)) return; // a preflight, answered
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      const path = q === -1 ? url : url.slice(0, q);
      const query = queryOf(url, q);
      const method = req.method ?? "GET";
      const found = this.router.lookup(method, path);
      const internal = this.isInternal(req);
      if (!found || !("route" in found) || (!found.route.manifest.expose && !internal)) {
        if (found && "methodNotAllowed" in found) {
          res.setHeader("allow", found.methodNotAllowed.join(", "));
          throw APIError.notFound(`no endpoint for ${method} ${path} (allowed: ${found.methodNotAllowed.join(", ")})`);
        }
        throw APIError.notFound(`no endpoint for ${method} ${path}`);
      }
      const endpoint = found.route;
      // The dashboard's fallback route would answer an API typo with HTML; an API client gets JSON.
      if (endpoint.definition.kind === "static" && isApiPath(path)) throw APIError.notFound(`no endpoint for ${method} ${path}`);
      if (tracingEnabled) nameRequest(method, endpoint.manifest.path, endpoint.manifest.service);
      const input: RawInput = { method, pathParams: found.params, query, headers: req.headers, body: undefined };
      const authenticating = this.authenticate(endpoint, input, req, internal);
      const authData = authenticating instanceof Promise ? await authenticating : authenticating;
      const context = this.context(endpoint, input, path, url, authData);

      switch (endpoint.definition.kind) {
        case "raw":
          // Awaited here, so that a failure is answered below and the request counts as in flight until it ends.
          return await runWithRequest(context, () => endpoint.definition.handler!(req, res));
        case "static": {
          const { manifest } = endpoint;
          const options = endpoint.definition.options as StaticOptions;
          const site = {
            dir: resolveIn(this.options.appRoot, manifest.staticDir ?? options.dir),
            notFound: manifest.notFound ? resolveIn(this.options.appRoot, manifest.notFound) : undefined,
            notFoundStatus: manifest.notFoundStatus,
            headers: options.headers,
          };
          return await serveStatic(site, Object.values(found.params)[0] ?? "", req, res);
        }
        case "api":
          break;
        default:
          throw APIError.invalidArgument(`${endpoint.manifest.path} is a streaming endpoint: connect with a WebSocket`);
      }

      const { manifest, definition } = endpoint;
      // A bodyless request's body (should a client send one) is left unread: node:http discards it
      // once the response has been sent.
      if (!BODYLESS.has(method)) {
        input.body = await readJsonBody(req, manifest.bodyLimit === undefined ? DEFAULT_BODY_LIMIT : manifest.bodyLimit);
      }
      const params = manifest.request ? this.options.decoder.decodeRequest(manifest.request, input) : undefined;
      if (context.meta?.type === "api-call") context.meta.parsedPayload = params;
      const result = await runWithRequest(context, () => definition.handler!(params));
      this.respond(res, endpoint, result, method === "HEAD");
    } catch (err) {
      this.fail(res, err, req);
    } finally {
      if (--this.inFlight === 0) this.drained?.();
    }
  }

  private respond(res: ServerResponse, endpoint: BoundEndpoint, result: unknown, head: boolean): void {
    if (result === undefined || result === null) {
      res.writeHead(200, { "content-length": 0 });
      res.end();
      return;
    }
    let body = result as Record<string, unknown>;
    let status = 200;
    const { statusField } = endpoint.manifest;
    if (endpoint.responseHeaders.length > 0 || statusField) {
      body = { ...body };
      if (statusField && typeof body[statusField] === "number") status = body[statusField] as number;
      if (statusField) delete body[statusField];
      for (const field of endpoint.responseHeaders) {
        const value = body[field.name];
        delete body[field.name];
        if (value !== undefined && value !== null) res.setHeader(field.wire, value instanceof Date ? value.toISOString() : String(value));
      }
    }
    // Written as a string: node:http then sends the head and the body in one write (a Buffer
    // body goes out as a second chunk of a writev), and no Buffer is made for it. A body that
    // carries its JSON text (lib/response-json.ts) is written as that text, unless fields left it
    // for the status or headers above.
    const attached = body === result ? responseJsonOf(body) : undefined;
    const json = attached === undefined ? JSON.stringify(body) : checkedResponseJson(body, attached);
    res.writeHead(status, { "content-type": JSON_TYPE, "content-length": typeof json === "string" ? Buffer.byteLength(json) : json.byteLength });
    res.end(head ? undefined : json);
  }

  private fail(res: ServerResponse, err: unknown, req: IncomingMessage): void {
    const { status, body } = toWireError(err);
    if (!(err instanceof APIError)) {
      log.error(err, "unhandled error in endpoint", { method: req.method ?? "", path: (req.url ?? "").split("?")[0] });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const json = JSON.stringify(body);
    const finalStatus = err instanceof BodyTooLargeError ? 413 : status;
    if (finalStatus === 413) res.setHeader("connection", "close");
    // Encore's APIError.withDetails({retryAfterSeconds}) on a 429 (rate limits) becomes Retry-After.
    const retryAfter = (body.details as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
    if (finalStatus === 429 && typeof retryAfter === "number" && Number.isFinite(retryAfter) && retryAfter >= 0) {
      res.setHeader("retry-after", String(Math.ceil(retryAfter)));
    }
    res.writeHead(finalStatus, { "content-type": JSON_TYPE, "content-length": Buffer.byteLength(json) });
    res.end(json);
  }

  /**
   * Auth data for the request: forwarded by a trusted internal caller, or from the auth handler
   * when the request carries credentials. Endpoints with `auth: true` require it.
   */
  private authenticate(
    endpoint: BoundEndpoint,
    input: RawInput,
    req: IncomingMessage,
    internal: boolean,
  ): AuthData | undefined | Promise<AuthData | undefined> {
    if (internal) {
      const forwarded = req.headers[AUTH_DATA_HEADER];
      if (typeof forwarded === "string") return JSON.parse(Buffer.from(forwarded, "base64url").toString("utf8")) as AuthData;
    }
    const auth = this.options.authenticator;
    if (!auth || !auth.hasCredentials(input)) {
      if (endpoint.manifest.auth && !internal) throw APIError.unauthenticated("missing credentials: send an Authorization: Bearer <token> header");
      return undefined;
    }
    // An endpoint that needs auth fails with the handler's error; any other serves the request
    // anonymously when the credentials are rejected.
    if (endpoint.manifest.auth) return auth.authenticate(input);
    return auth.authenticate(input).catch(() => undefined);
  }

  private isInternal(req: IncomingMessage): boolean {
    const presented = req.headers[INTERNAL_HEADER];
    if (typeof presented !== "string") return false;
    const given = Buffer.from(presented);
    return given.length === this.internalSecret.length && timingSafeEqual(given, this.internalSecret);
  }

  private context(endpoint: BoundEndpoint, input: RawInput, path: string, url: string, authData: AuthData | undefined): RequestContext {
    return {
      authData,
      meta: {
        type: "api-call",
        api: this.apiMeta.get(endpoint)!,
        method: input.method as "GET",
        path,
        pathAndQuery: url,
        pathParams: input.pathParams,
        headers: input.headers as Record<string, string | string[]>,
      },
    };
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const found = this.router.lookup("GET", path);
    const endpoint = found && "route" in found ? found.route : undefined;
    const streaming = endpoint && endpoint.definition.kind.startsWith("stream");
    const internal = this.isInternal(req);
    if (!found || !("route" in found) || !endpoint || !streaming || (!endpoint.manifest.expose && !internal)) {
      socket.end(
        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" +
          JSON.stringify({ code: ErrCode.NotFound, message: `no streaming endpoint at ${path}`, details: null }),
      );
      return;
    }
    if (this.sockets.clients.size >= this.streamLimits.maxSockets) {
      socket.end(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" +
          JSON.stringify({
            code: ErrCode.Unavailable,
            message: `the server already serves ${this.streamLimits.maxSockets} streams; retry later`,
            details: null,
          }),
      );
      return;
    }
    const input: RawInput = { method: "GET", pathParams: found.params, query: queryOf(url, q), headers: req.headers, body: undefined };
    let context: RequestContext;
    let handshake: Record<string, unknown> | undefined;
    try {
      const authData = await this.authenticate(endpoint, input, req, internal);
      context = this.context(endpoint, input, path, url, authData);
      handshake = endpoint.manifest.request ? this.options.decoder.decodeRequest(endpoint.manifest.request, input) : undefined;
    } catch (err) {
      const { status, body } = toWireError(err);
      socket.end(`HTTP/1.1 ${status} Error\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify(body)}`);
      return;
    }
    this.sockets.handleUpgrade(req, socket, head, (ws) => {
      this.inFlight++;
      void runWithRequest(context, () => serveSocket(ws, endpoint, handshake, this.streamLimits)).finally(() => {
        if (--this.inFlight === 0) this.drained?.();
      });
    });
  }
}

/** Whether attached response JSON is compared with the body's own encoding (tests only: it costs the encoding it saves). */
const CHECK_RESPONSE_JSON = process.env.NODE_ENV === "test";

/** `json`, after checking under tests that it is what `JSON.stringify(body)` gives. */
function checkedResponseJson(body: object, json: ResponseJson): ResponseJson {
  if (!CHECK_RESPONSE_JSON) return json;
  const expected = JSON.stringify(body);
  const text = typeof json === "string" ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString("utf8");
  if (text !== expected || (typeof json !== "string" && Buffer.byteLength(expected) !== json.byteLength)) {
    throw new Error(`the JSON attached to a response differs from the response's own: ${text.slice(0, 300)} … instead of ${expected.slice(0, 300)} …`);
  }
  return json;
}

/** Paths under `/api/`, which belong to the API even when no endpoint matches them. */
const isApiPath = (path: string) => path === "/api" || path.startsWith("/api/");

function resolveIn(root: string, path: string): string {
  return path.startsWith("/") ? path : `${root}/${path}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
