/**
 * The Encore conformance rules: every diagnostic the manifest extractor can report, with a stable
 * id, a one-line statement of what Encore's parser requires, and the file of encoredev/encore
 * (`tsparser/...`) whose code decides it. Rules marked `severity: "warning"` are this project's
 * safeguards or conventions, not Encore's: they are printed but do not fail the check. Each id has
 * a bad-app fixture under `infra/node-host/__tests__/fixtures/conformance/<id>/`.
 */

import type { Diagnostic } from "./types.ts";

interface Rule {
  text: string;
  /** The encoredev/encore file behind the verdict (or the host file, for a host safeguard). */
  source: string;
  severity?: "warning";
}

export const RULES = {
  // Services
  "service-file": { text: "`new Service(...)` is only allowed in a file named encore.service.ts", source: "tsparser/src/parser/resources/apis/service.rs" },
  "service-default-export": {
    text: 'the Service must be the default export (`export default new Service("name")`), not bound to a variable',
    source: "tsparser/src/parser/resources/apis/service.rs",
  },
  "service-missing": { text: 'encore.service.ts must `export default new Service("name")`', source: "tsparser/src/parser/parser.rs" },
  "service-multiple": { text: "a module may declare only one Service", source: "tsparser/src/parser/resources/apis/service.rs" },
  "service-nested": { text: "a service directory cannot be inside another service's directory", source: "tsparser/src/parser/service_discovery.rs" },
  "service-duplicate": { text: "two services cannot share a name", source: "tsparser/src/parser/service_discovery.rs" },

  // Endpoints
  "api-options-literal": {
    text: "endpoint options must be an object literal of literal values with known keys",
    source: "tsparser/src/parser/resources/apis/api.rs",
  },
  "api-method": { text: '`method` must be an HTTP method, an array of them, or "*" alone', source: "tsparser/src/parser/resources/apis/api.rs" },
  "api-bind": {
    text: "an endpoint must be bound directly to an exported variable (`export const name = api(...)`)",
    source: "tsparser/src/parser/resources/apis/api.rs",
  },
  "api-handler": {
    text: "an endpoint needs a handler function (without type parameters) as its second argument",
    source: "tsparser/src/parser/resources/apis/api.rs",
  },
  "api-handler-types": {
    text: "Encore reads request/response types from the handler's annotations or api<Req, Resp>; inferred types are invisible to it",
    source: "tsparser/src/parser/resources/apis/api.rs",
  },
  "api-schema-type": {
    text: "request and response types must be interfaces/object types (or void), not arrays, primitives, unions or index signatures",
    source: "tsparser/src/parser/resources/apis/encoding.rs",
  },
  "api-schema-unsupported": {
    text: "schema types cannot contain functions, tuples, classes, symbols, or index signatures mixed with fields",
    source: "tsparser/src/legacymeta/schema.rs",
  },
  "api-path": {
    text: "the path must start with '/', have no empty segments, named parameters, and wildcards/fallbacks only at the end",
    source: "tsparser/src/parser/respath.rs",
  },
  "api-path-param-missing": { text: "every path parameter must be a field of the request type", source: "tsparser/src/parser/resources/apis/encoding.rs" },
  "api-path-param-type": { text: "a path parameter field must be a string, number or boolean", source: "tsparser/src/parser/resources/apis/encoding.rs" },
  "api-path-conflict": {
    text: "within a service, a parameter and a wildcard cannot share a path position for a method (matchit 0.7: literals beside parameters, and differently named parameters, are fine)",
    source: "tsparser/src/app/mod.rs",
  },
  "api-path-duplicate": { text: "two endpoints of one service cannot serve the same method and path", source: "tsparser/src/app/mod.rs" },
  "host-path-conflict": {
    text: "host safeguard, not an Encore rule: endpoints of different services whose routes collide, which the Node host (one router for every service) cannot tell apart",
    source: "infra/node-host/runtime/http/router.ts",
    severity: "warning",
  },
  "api-name-duplicate": { text: "endpoint names must be unique within a service", source: "tsparser/src/app/mod.rs" },
  "type-resolver": {
    text: "every type reachable from an endpoint, auth handler or topic must use constructs Encore's type resolver resolves (tsparser/src/parser/types/type_resolve.rs, universe.ts)",
    source: "tsparser/src/parser/types/type_resolve.rs",
  },
  "api-query-type": {
    text: "fields sent in the query string must be basic types, literals, enums or arrays of them",
    source: "tsparser/src/parser/resources/apis/encoding.rs",
  },
  "api-http-status": { text: "a response type may have at most one HttpStatus field", source: "tsparser/src/parser/resources/apis/encoding.rs" },
  "api-stream-types": {
    text: "stream endpoints need explicit type arguments (handshake, request, response) matching the handler",
    source: "tsparser/src/parser/resources/apis/api.rs",
  },
  "api-static": {
    text: "static assets need a local relative `dir` (and `notFound`) that exists, and a path with at most one dynamic segment, at the end",
    source: "tsparser/src/parser/resources/apis/api.rs",
  },

  // Resources in general
  "resource-package-level": {
    text: "infrastructure resources must be declared at package level, not inside a function",
    source: "tsparser/src/parser/resources/parseutil.rs",
  },
  "resource-name-literal": { text: "resource names must be string literals", source: "tsparser/src/parser/resources/parseutil.rs" },
  "resource-name-format": {
    text: "convention, not checked by Encore's parser: kebab-case topic, subscription and cron job names, lower-case database names",
    source: "infra/node-host/manifest/infra.ts",
    severity: "warning",
  },
  "resource-name-duplicate": {
    text: "resource names must be unique (topics, cron jobs, databases, metrics; subscriptions per topic)",
    source: "tsparser/src/app/mod.rs",
  },
  "resource-config-literal": {
    text: "resource configuration must be an object literal of literal values with known keys",
    source: "tsparser/litparser/src/lib.rs",
  },
  "resource-import": {
    text: "resources must be created through a named import from the encore.dev module, or Encore's parser won't see them",
    source: "tsparser/src/parser/resourceparser/resource_parser.rs",
  },
  "resource-outside-service": {
    text: "a secret must be loaded in a service: a directory with encore.service.ts, or one Encore makes a service because it declares an endpoint or subscription",
    source: "tsparser/src/legacymeta/mod.rs",
  },

  // Pub/Sub, cron, SQL, secrets
  "topic-message-type": {
    text: "a Topic needs its message type as an explicit type argument (`new Topic<Msg>(...)`)",
    source: "tsparser/src/parser/resources/infra/pubsub_topic.rs",
  },
  "subscription-topic": {
    text: "a Subscription's first argument must resolve to a `new Topic(...)` declaration",
    source: "tsparser/src/parser/resources/infra/pubsub_subscription.rs",
  },
  "cron-schedule": {
    text: "a CronJob needs exactly one of `every` (a multiple of 1m, at most 24h) or `schedule` (a 5-field cron expression)",
    source: "tsparser/src/parser/resources/infra/cron.rs",
  },
  "cron-endpoint": {
    text: "a CronJob's endpoint must be an api() endpoint of this app that takes no parameters",
    source: "tsparser/src/parser/resources/infra/cron.rs",
  },
  "sqldb-migrations-dir": {
    text: "the migrations directory must be a local relative path to an existing directory",
    source: "tsparser/src/parser/resources/infra/sqldb.rs",
  },
  "sqldb-migration-name": {
    text: "migration files must be named `<number>_<name>.up.sql` (or `.down.sql`)",
    source: "tsparser/src/parser/resources/infra/sqldb.rs",
  },
  "sqldb-migration-number": { text: "two up-migrations of one database cannot share a number", source: "tsparser/src/parser/resources/infra/sqldb.rs" },
  "secret-bind": { text: "a secret must be bound to a variable", source: "tsparser/src/parser/resources/infra/secret.rs" },

  // Usage
  "topic-usage": {
    text: "a Topic may only be published (`.publish`), referenced (`.ref<T>()`) or passed to a constructor such as `new Subscription(topic, ...)`",
    source: "tsparser/src/parser/resources/infra/pubsub_topic.rs",
  },
  "service-client-usage": {
    text: "a service client from ~encore/clients may only have its methods called (or its `Client` field read)",
    source: "tsparser/src/parser/resources/apis/service_client.rs",
  },
  "usage-outside-service": {
    text: "publishing to a topic and calling another service's endpoints must happen inside a service directory",
    source: "tsparser/src/legacymeta/mod.rs",
  },

  // Auth, gateway, metrics
  "auth-handler-bind": { text: "an authHandler must be bound to a variable", source: "tsparser/src/parser/resources/apis/authhandler.rs" },
  "auth-handler-types": { text: "an authHandler needs explicit parameter and result types", source: "tsparser/src/parser/resources/apis/authhandler.rs" },
  "auth-handler-params": { text: "an authHandler's parameters may only be Header<>, Query<> or Cookie<> fields", source: "tsparser/src/app/mod.rs" },
  "auth-handler-duplicate": { text: "an app can define only one auth handler", source: "tsparser/src/app/mod.rs" },
  "gateway-config": {
    text: "a Gateway needs a config object whose authHandler resolves to an authHandler; only one Gateway per app",
    source: "tsparser/src/parser/resources/apis/gateway.rs",
  },
  "metric-name": {
    text: "metric names must be snake_case and must not start with the reserved prefix `e_`",
    source: "tsparser/src/parser/resources/infra/metrics.rs",
  },
  "metric-label": { text: "the metric label `service` is reserved", source: "tsparser/src/parser/resources/infra/metrics.rs" },

  // Source
  "import-unresolved": {
    text: "every import that is not `import type`, in every file Encore walks, must resolve (Encore's usage resolver resolves them all)",
    source: "tsparser/src/parser/usageparser/mod.rs",
  },
  "ts-syntax": { text: "the file must parse as TypeScript", source: "tsparser/src/parser/module_loader.rs" },
  "extractor-error": { text: "the extractor failed on this file (a bug in the extractor; please report it)", source: "" },
} as const satisfies Record<string, Rule>;

export type RuleId = keyof typeof RULES;

/** Whether a rule fails the check (Encore rejects) or only warns (a safeguard or convention). */
export function severityOf(rule: string): "error" | "warning" {
  return (RULES as Record<string, Rule>)[rule]?.severity ?? "error";
}

/** Formats a diagnostic as `file:line:col  rule  message`, the CLI and error-message format. */
export function formatDiagnostic(d: Diagnostic): string {
  const tag = severityOf(d.rule) === "warning" ? "warning " : "";
  return `${d.pos.file}:${d.pos.line}:${d.pos.column}  ${tag}${d.rule}  ${d.message}`;
}

/** Orders diagnostics by file, line and column, for stable output. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  return diags.sort((a, b) => a.pos.file.localeCompare(b.pos.file) || a.pos.line - b.pos.line || a.pos.column - b.pos.column || a.rule.localeCompare(b.rule));
}
