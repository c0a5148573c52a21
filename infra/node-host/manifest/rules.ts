/**
 * The Encore conformance rules: every diagnostic the manifest extractor can report, with a stable
 * id and a one-line statement of what Encore's parser (tsparser) or runtime requires. Each id has a
 * bad-app fixture under `infra/node-host/__tests__/fixtures/conformance/<id>/`.
 */

import type { Diagnostic } from "./types.ts";

export const RULES = {
  // Services
  "service-file": "`new Service(...)` is only allowed in a file named encore.service.ts",
  "service-default-export": "the Service must be the default export (`export default new Service(\"name\")`), not bound to a variable",
  "service-missing": "encore.service.ts must `export default new Service(\"name\")`",
  "service-multiple": "a module may declare only one Service",
  "service-nested": "a service directory cannot be inside another service's directory",
  "service-duplicate": "two services cannot share a name",

  // Endpoints
  "api-options-literal": "endpoint options must be an object literal of literal values with known keys",
  "api-method": "`method` must be an HTTP method, an array of them, or \"*\" alone",
  "api-bind": "an endpoint must be bound directly to an exported variable (`export const name = api(...)`)",
  "api-handler": "an endpoint needs a handler function (without type parameters) as its second argument",
  "api-handler-types": "Encore reads request/response types from the handler's annotations or api<Req, Resp>; inferred types are invisible to it",
  "api-schema-type": "request and response types must be interfaces/object types (or void), not arrays, primitives, unions or index signatures",
  "api-schema-unsupported": "schema types cannot contain functions, tuples, classes, symbols, or index signatures mixed with fields",
  "api-path": "the path must start with '/', have no empty segments, named parameters, and wildcards/fallbacks only at the end",
  "api-path-param-missing": "every path parameter must be a field of the request type",
  "api-path-param-type": "a path parameter field must be a string, number or boolean",
  "api-path-conflict": "two endpoints cannot have a literal and a parameter (or differently named parameters) at the same path position for a method",
  "api-path-duplicate": "two endpoints cannot serve the same method and path",
  "api-name-duplicate": "endpoint names must be unique within a service",
  "type-resolver": "every type reachable from an endpoint, auth handler or topic must use constructs Encore's type resolver resolves (tsparser/src/parser/types/type_resolve.rs, universe.ts)",
  "api-query-type": "fields sent in the query string must be basic types, literals, enums or arrays of them",
  "api-http-status": "a response type may have at most one HttpStatus field",
  "api-stream-types": "stream endpoints need explicit type arguments (handshake, request, response) matching the handler",
  "api-static": "static assets need a local relative `dir` (and `notFound`) that exists, and a path with at most one dynamic segment, at the end",

  // Resources in general
  "resource-package-level": "infrastructure resources must be declared at package level, not inside a function",
  "resource-name-literal": "resource names must be string literals",
  "resource-name-format": "resource names must follow Encore's naming rules (kebab-case topics, subscriptions and cron jobs; lower-case databases)",
  "resource-name-duplicate": "resource names must be unique (topics, cron jobs, databases, metrics; subscriptions per topic)",
  "resource-config-literal": "resource configuration must be an object literal of literal values with known keys",
  "resource-import": "resources must be created through a named import from the encore.dev module, or Encore's parser won't see them",
  "resource-outside-service": "endpoints, subscriptions, auth handlers, gateways and secrets must live in a service directory",

  // Pub/Sub, cron, SQL, secrets
  "topic-message-type": "a Topic needs its message type as an explicit type argument (`new Topic<Msg>(...)`)",
  "subscription-topic": "a Subscription's first argument must resolve to a `new Topic(...)` declaration",
  "cron-schedule": "a CronJob needs exactly one of `every` (a multiple of 1m, at most 24h) or `schedule` (a 5-field cron expression)",
  "cron-endpoint": "a CronJob's endpoint must be an api() endpoint of this app that takes no parameters",
  "sqldb-migrations-dir": "the migrations directory must be a local relative path to an existing directory",
  "sqldb-migration-name": "migration files must be named `<number>_<name>.up.sql` (or `.down.sql`)",
  "sqldb-migration-number": "two up-migrations of one database cannot share a number",
  "secret-bind": "a secret must be bound to a variable",

  // Auth, gateway, metrics
  "auth-handler-bind": "an authHandler must be bound to a variable",
  "auth-handler-types": "an authHandler needs explicit parameter and result types",
  "auth-handler-params": "an authHandler's parameters may only be Header<>, Query<> or Cookie<> fields",
  "auth-handler-duplicate": "an app can define only one auth handler",
  "gateway-config": "a Gateway needs a config object whose authHandler resolves to an authHandler; only one Gateway per app",
  "metric-name": "metric names must be snake_case and must not start with the reserved prefix `e_`",
  "metric-label": "the metric label `service` is reserved",

  // Source
  "ts-syntax": "the file must parse as TypeScript",
  "extractor-error": "the extractor failed on this file (a bug in the extractor; please report it)",
} as const;

export type RuleId = keyof typeof RULES;

/** Formats a diagnostic as `file:line:col  rule  message`, the CLI and error-message format. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.pos.file}:${d.pos.line}:${d.pos.column}  ${d.rule}  ${d.message}`;
}

/** Orders diagnostics by file, line and column, for stable output. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  return diags.sort(
    (a, b) =>
      a.pos.file.localeCompare(b.pos.file) ||
      a.pos.line - b.pos.line ||
      a.pos.column - b.pos.column ||
      a.rule.localeCompare(b.rule),
  );
}
