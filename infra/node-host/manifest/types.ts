/**
 * The app manifest: everything the Node host needs to know about the Encore app that Encore's
 * own parser would know. Built from the source by `extract.ts` (TypeScript compiler API), cached
 * under `.cachet/`, and consumed by the host (routing, request decoding, resource wiring) and by
 * the conformance check. JSON-serialisable throughout.
 */

/** A decoded wire type. Recursive named types are referenced by name through `ref`. */
export type TypeSchema =
  | { k: "string" }
  | { k: "number" }
  | { k: "boolean" }
  | { k: "null" }
  | { k: "any" }
  | { k: "date" }
  | { k: "literal"; v: string | number | boolean }
  | { k: "array"; e: TypeSchema }
  | { k: "object"; fields: FieldSchema[]; index?: TypeSchema }
  | { k: "union"; u: TypeSchema[] }
  | { k: "ref"; name: string };

/** Where a request field comes from (or, for responses, where it goes). */
export type FieldLocation = "path" | "query" | "header" | "cookie" | "body";

export interface FieldSchema {
  /** The property name in the TypeScript type. */
  name: string;
  /** The name on the wire: the header name for `Header<"X-Name">`, the query key, ... */
  wire: string;
  /**
   * `path` when the name matches a path parameter; `header`/`query`/`cookie` when the field is
   * typed `Header<>`/`Query<>`/`Cookie<>`; otherwise `body` — which the host reads from the query
   * string for GET/HEAD/DELETE requests, as Encore does.
   */
  loc: FieldLocation;
  optional: boolean;
  type: TypeSchema;
}

/** A source position, 1-based line and column, file relative to the app root (posix). */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export type EndpointKind = "api" | "raw" | "static" | "streamIn" | "streamOut" | "streamInOut";

export interface EndpointManifest {
  service: string;
  /** The exported variable name; also the endpoint name used by `~encore/clients`. */
  name: string;
  kind: EndpointKind;
  /** Upper-case methods; `["*"]` for any. Streams and static assets are `["GET"]`. */
  methods: string[];
  /** Encore path syntax: `/api/cache/:key`, `/static/*path`, `/!fallback`. */
  path: string;
  expose: boolean;
  auth: boolean;
  /** Bytes; `null` means unlimited, `undefined` the host default. */
  bodyLimit?: number | null;
  tags: string[];
  /** The request type (the handshake type for streams); absent when the handler takes none. */
  request?: TypeSchema;
  /** The response type, used for `Header<>` fields in responses; absent for void/raw. */
  response?: TypeSchema;
  /**
   * The response field typed `HttpStatus` (encore.dev/api), if any: its value is the HTTP status
   * code and it is left out of the body.
   */
  statusField?: string;
  /** Static assets only: the directory, relative to the app root, and the not-found page. */
  staticDir?: string;
  notFound?: string;
  notFoundStatus?: number;
  pos: SourcePos;
}

export interface ServiceManifest {
  name: string;
  /** The service directory, relative to the app root. */
  dir: string;
  /** Every file of the service that declares a resource (endpoint, topic, ...): the host imports them. */
  files: string[];
}

export interface TopicManifest {
  name: string;
  service?: string;
  deliveryGuarantee: "at-least-once" | "exactly-once";
  pos: SourcePos;
}

export interface SubscriptionManifest {
  topic: string;
  name: string;
  service: string;
  pos: SourcePos;
}

export interface CronJobManifest {
  id: string;
  title?: string;
  every?: string;
  schedule?: string;
  /** The endpoint the job calls: service and exported name. */
  endpoint: { service: string; name: string };
  service: string;
  pos: SourcePos;
}

export interface DatabaseManifest {
  name: string;
  service?: string;
  /** The migrations directory relative to the app root, when configured. */
  migrations?: string;
  pos: SourcePos;
}

export interface AuthHandlerManifest {
  service: string;
  name: string;
  file: string;
  /** The auth params type: its `Header<>`/`Query<>`/`Cookie<>` fields. */
  params: TypeSchema;
  pos: SourcePos;
}

export interface GatewayManifest {
  name: string;
  service: string;
  file: string;
  authHandler?: string;
  pos: SourcePos;
}

export interface SecretManifest {
  name: string;
  service?: string;
  pos: SourcePos;
}

export interface Manifest {
  /** Hash of every source file that went into it; the cache key. */
  hash: string;
  services: ServiceManifest[];
  endpoints: EndpointManifest[];
  topics: TopicManifest[];
  subscriptions: SubscriptionManifest[];
  cronJobs: CronJobManifest[];
  databases: DatabaseManifest[];
  authHandlers: AuthHandlerManifest[];
  gateways: GatewayManifest[];
  secrets: SecretManifest[];
  /** Named types referenced by `{k: "ref"}`. */
  types: Record<string, TypeSchema>;
}

/** A conformance finding: something Encore's parser would reject. */
export interface Diagnostic {
  /** A stable rule id, e.g. `api-options-literal`. */
  rule: string;
  message: string;
  pos: SourcePos;
}
