/* eslint-disable @typescript-eslint/no-unused-vars -- Header/Query/Cookie keep Encore's type parameters, which its parser reads. */
/**
 * The Node host's `encore.dev/api`. `api()` and friends return the handler itself (as Encore's
 * SDK does) tagged with its definition, so the host can find endpoints among a module's exports
 * and match them to the manifest by export name.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EndpointKind } from "../manifest/types.ts";

export { APIError, ErrCode } from "./errors.ts";
export type { ErrDetails } from "./errors.ts";
export { Gateway, type GatewayConfig } from "./gateway.ts";

export type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" | "TRACE" | "CONNECT";

export type Header<TypeOrName extends string | number | boolean | Date = string, Name extends string = ""> = TypeOrName extends string ? string : TypeOrName;
export type Query<
  TypeOrName extends string | string[] | number | number[] | boolean | boolean[] | Date | Date[] = string,
  Name extends string = "",
> = TypeOrName extends string ? string : TypeOrName;
export interface CookieWithOptions<T> {
  value: T;
  expires?: Date;
  sameSite?: "Strict" | "Lax" | "None";
  domain?: string;
  path?: string;
  maxAge?: number;
  secure?: boolean;
  httpOnly?: boolean;
  partitioned?: boolean;
}
export type Cookie<TypeOrName extends string | number | boolean | Date = string, Name extends string = ""> = TypeOrName extends string
  ? CookieWithOptions<string>
  : CookieWithOptions<TypeOrName>;

export interface APIOptions {
  method?: Method | Method[] | "*";
  path?: string;
  expose?: boolean;
  auth?: boolean;
  bodyLimit?: number | null;
  tags?: string[];
  sensitive?: boolean;
}

export interface StreamOptions {
  path?: string;
  expose?: boolean;
  auth?: boolean;
  tags?: string[];
  sensitive?: boolean;
}

export interface StaticOptions {
  path?: string;
  expose?: boolean;
  auth?: boolean;
  dir: string;
  notFound?: string;
  notFoundStatus?: number;
  headers?: Record<string, string | string[]>;
}

export type RawRequest = IncomingMessage;
export type RawResponse = ServerResponse;
export type RawHandler = (req: IncomingMessage, resp: ServerResponse) => void;

export interface StreamIn<Request> extends AsyncIterable<Request> {
  recv: () => Promise<Request>;
}
export interface StreamOut<Response> {
  send: (msg: Response) => Promise<void>;
  close: () => Promise<void>;
}
export interface StreamOutWithResponse<Request, Response> extends StreamOut<Request> {
  response: () => Promise<Response>;
}
export type StreamInOut<Request, Response> = StreamIn<Request> & StreamOut<Response>;

/** Options for service-to-service calls; `~encore/auth` adds `authData`. */
export interface CallOpts {
  authData?: unknown;
}

/** What `api()` attaches to a handler so the host can serve it. */
export interface EndpointDefinition {
  kind: EndpointKind;
  options: APIOptions | StreamOptions | StaticOptions;
  handler?: (...args: any[]) => any;
}

export const ENDPOINT = Symbol.for("cachet.encore.endpoint");

/** The definition attached to an exported value, if it is an endpoint. */
export function endpointDefinition(value: unknown): EndpointDefinition | undefined {
  if ((typeof value === "function" || typeof value === "object") && value !== null) {
    return (value as { [ENDPOINT]?: EndpointDefinition })[ENDPOINT];
  }
  return undefined;
}

function tag<T extends object>(target: T, definition: EndpointDefinition): T {
  Object.defineProperty(target, ENDPOINT, { value: definition, enumerable: false });
  return target;
}

export function api<Params extends object | void = void, Response extends object | void = void>(
  options: APIOptions,
  fn: (params: Params) => Promise<Response> | Response,
): Params extends void ? () => Promise<Response> : (params: Params) => Promise<Response>;
export function api(options: APIOptions, fn: (...args: any[]) => any): any {
  const handler = async (params: unknown) => fn(params);
  return tag(handler, { kind: "api", options, handler: fn });
}

api.raw = function raw(options: APIOptions, fn: RawHandler): RawHandler {
  const handler: RawHandler = (req, resp) => fn(req, resp);
  return tag(handler, { kind: "raw", options, handler: fn });
};

function stream(kind: EndpointKind) {
  return (options: StreamOptions, fn: (...args: any[]) => Promise<any>): any => {
    const handler = (...args: any[]) => fn(...args);
    return tag(handler, { kind, options, handler: fn });
  };
}

api.streamIn = stream("streamIn") as {
  <Request>(options: StreamOptions, fn: (stream: StreamIn<Request>) => Promise<void>): (stream: StreamIn<Request>) => Promise<void>;
  <HandshakeData, Request, Response>(
    options: StreamOptions,
    fn: (data: HandshakeData, stream: StreamIn<Request>) => Promise<Response>,
  ): (data: HandshakeData, stream: StreamIn<Request>) => Promise<Response>;
};
api.streamOut = stream("streamOut") as {
  <HandshakeData, Response>(
    options: StreamOptions,
    fn: (data: HandshakeData, stream: StreamOut<Response>) => Promise<void>,
  ): (data: HandshakeData, stream: StreamOut<Response>) => Promise<void>;
  <Response>(options: StreamOptions, fn: (stream: StreamOut<Response>) => Promise<void>): (stream: StreamOut<Response>) => Promise<void>;
};
api.streamInOut = stream("streamInOut") as {
  <HandshakeData, Request, Response>(
    options: StreamOptions,
    fn: (data: HandshakeData, stream: StreamInOut<Request, Response>) => Promise<void>,
  ): (data: HandshakeData, stream: StreamInOut<Request, Response>) => Promise<void>;
  <Request, Response>(
    options: StreamOptions,
    fn: (stream: StreamInOut<Request, Response>) => Promise<void>,
  ): (stream: StreamInOut<Request, Response>) => Promise<void>;
};

export class StaticAssets {
  public readonly options: StaticOptions;
  constructor(options: StaticOptions) {
    this.options = options;
    tag(this, { kind: "static", options });
  }
}

api.static = function staticAssets(options: StaticOptions): StaticAssets {
  return new StaticAssets(options);
};
