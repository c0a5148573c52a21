/**
 * Infrastructure resources: topics, subscriptions, cron jobs, SQL databases, secrets, auth
 * handlers, gateways and metrics. Each parser reads the constructor call as Encore's parser does
 * and returns a record; references between resources (a subscription's topic, a cron job's
 * endpoint, a gateway's auth handler) are resolved afterwards, when every file has been read.
 */

import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CronExpressionParser } from "cron-parser";
import ts from "typescript";
import { bindingOf, enclosingFunction, enclosingVariable, isInlineFunction, type ExtractContext, type FileInfo } from "./context.ts";
import { unwrapPromise } from "./encore-types.ts";
import { DURATION_GRAMMAR, tryParseDuration } from "../../../lib/duration.ts";
import { LiteralError, anyExpr, localRelPath, object, str, uint, duration, type ValueParser } from "./literals.ts";
import type { AuthHandlerManifest, DatabaseManifest, SecretManifest, SubscriptionManifest, TopicManifest } from "./types.ts";

// ─── Names ──────────────────────────────────────────────────────────────────────────────────

const MAX_NAME = 63;

/**
 * Checks a name against `^[a-z]([<sep>a-z0-9]*[a-z0-9])?$`, at most 63 characters (Encore's
 * kebab-case and snake_case resource names).
 */
export function nameProblem(name: string, separators: string, style: string, reservedPrefix?: string): string | undefined {
  if (name.length === 0 || name.length > MAX_NAME) return `must be between 1 and ${MAX_NAME} characters long (got ${name.length})`;
  const sep = separators.replace(/[-\\\]]/g, "\\$&");
  const re = new RegExp(`^[a-z]([${sep}a-z0-9]*[a-z0-9])?$`);
  if (!re.test(name)) {
    return `must be ${style}: start with a lower-case letter, end with a letter or digit, and contain only lower-case letters, digits and ${separators
      .split("")
      .map((c) => `'${c}'`)
      .join(" or ")}`;
  }
  if (reservedPrefix && name.startsWith(reservedPrefix)) return `must not start with the reserved prefix '${reservedPrefix}'`;
  return undefined;
}

/** The string-literal resource name at `args[idx]`, reporting when it is missing or not a literal. */
function resourceName(ctx: ExtractContext, node: ts.NewExpression | ts.CallExpression, idx: number, what: string): { name: string; node: ts.Node } | undefined {
  const arg = node.arguments?.[idx];
  if (!arg) {
    ctx.report("resource-name-literal", node, `missing ${what} name as argument ${idx + 1}`);
    return undefined;
  }
  if (!ts.isStringLiteral(arg)) {
    ctx.report("resource-name-literal", arg, `the ${what} name must be a string literal`);
    return undefined;
  }
  return { name: arg.text, node: arg };
}

/**
 * Warns about a resource name outside Encore's documented naming style. Encore's parser does not
 * check these names (tsparser/src/parser/resources/infra/*.rs), so this is a convention, and the
 * resource is kept.
 */
function checkName(ctx: ExtractContext, n: { name: string; node: ts.Node }, what: string, separators: string, style: string): boolean {
  const problem = nameProblem(n.name, separators, style);
  if (problem) ctx.report("resource-name-format", n.node, `${what} name "${n.name}": ${problem} (a naming convention; Encore's parser does not check it)`);
  return true;
}

function atPackageLevel(ctx: ExtractContext, node: ts.Node, what: string): boolean {
  if (!enclosingFunction(node)) return true;
  ctx.report("resource-package-level", node, `${what} must be declared at package level, not inside a function`);
  return false;
}

/** Parses a config argument; reports `resource-config-literal` on failure. */
function config<T>(ctx: ExtractContext, parse: ValueParser<T>, arg: ts.Expression | undefined, at: ts.Node, required: boolean): { value?: T; ok: boolean } {
  if (!arg) {
    if (required) ctx.report("resource-config-literal", at, "missing required config object");
    return { ok: !required };
  }
  try {
    return { value: parse(arg), ok: true };
  } catch (e) {
    if (!(e instanceof LiteralError)) throw e;
    ctx.report("resource-config-literal", e.node, e.message);
    return { ok: false };
  }
}

// ─── Pub/Sub ────────────────────────────────────────────────────────────────────────────────

export interface TopicRec {
  manifest: TopicManifest;
  decl?: ts.VariableDeclaration;
  nameNode: ts.Node;
}

const TOPIC_CONFIG = object({ deliveryGuarantee: str, orderingAttribute: str });

export function parseTopic(ctx: ExtractContext, file: FileInfo, node: ts.NewExpression): TopicRec | undefined {
  if (!atPackageLevel(ctx, node, "Topics")) return undefined;
  const n = resourceName(ctx, node, 0, "topic");
  if (!n || !checkName(ctx, n, "topic", "-", "kebab-case")) return undefined;
  if (!node.typeArguments?.[0]) {
    ctx.report("topic-message-type", node, `missing message type parameter: write \`new Topic<Message>("${n.name}", ...)\``);
    return undefined;
  }
  ctx.types.check(node.typeArguments[0], `message type of topic ${n.name}`);
  const cfg = config(ctx, TOPIC_CONFIG, node.arguments?.[1], node, true);
  if (!cfg.ok || !cfg.value) return undefined;
  const guarantee = cfg.value.deliveryGuarantee;
  if (guarantee && guarantee.value !== "at-least-once" && guarantee.value !== "exactly-once") {
    ctx.report("resource-config-literal", guarantee.node, `invalid delivery guarantee "${guarantee.value}" (use "at-least-once" or "exactly-once")`);
    return undefined;
  }
  return {
    manifest: {
      name: n.name,
      service: file.service?.name,
      deliveryGuarantee: (guarantee?.value as TopicManifest["deliveryGuarantee"]) ?? "at-least-once",
      pos: ctx.pos(node),
    },
    decl: bindingOf(node).decl,
    nameNode: n.node,
  };
}

export interface SubscriptionRec {
  /** Completed (topic name) once the topic is resolved. */
  manifest: Omit<SubscriptionManifest, "topic">;
  topicExpr: ts.Expression;
  nameNode: ts.Node;
}

const SUBSCRIPTION_CONFIG = object({
  handler: anyExpr,
  maxConcurrency: uint,
  ackDeadline: duration,
  messageRetention: duration,
  retryPolicy: object({ minBackoff: duration, maxBackoff: duration, maxRetries: uint }),
});

export function parseSubscription(ctx: ExtractContext, file: FileInfo, node: ts.NewExpression): SubscriptionRec | undefined {
  if (!atPackageLevel(ctx, node, "Subscriptions")) return undefined;
  const topicExpr = node.arguments?.[0];
  if (!topicExpr || ts.isSpreadElement(topicExpr)) {
    ctx.report("subscription-topic", topicExpr ?? node, "the first argument must be the topic");
    return undefined;
  }
  const n = resourceName(ctx, node, 1, "subscription");
  if (!n || !checkName(ctx, n, "subscription", "-", "kebab-case")) return undefined;
  const cfg = config(ctx, SUBSCRIPTION_CONFIG, node.arguments?.[2], node, true);
  if (!cfg.ok || !cfg.value) return undefined;
  if (!cfg.value.handler) {
    ctx.report("resource-config-literal", node.arguments![2], "missing required field `handler`");
    return undefined;
  }
  if (!file.service) {
    ctx.report("resource-outside-service", node, `subscription "${n.name}" is not inside a service directory`);
    return undefined;
  }
  return { manifest: { name: n.name, service: file.service.name, pos: ctx.pos(node) }, topicExpr, nameNode: n.node };
}

// ─── Cron ───────────────────────────────────────────────────────────────────────────────────

export interface CronRec {
  id: string;
  title?: string;
  every?: string;
  schedule?: string;
  service?: string;
  endpointExpr: ts.Expression;
  node: ts.NewExpression;
  nameNode: ts.Node;
}

const CRON_CONFIG = object({ endpoint: anyExpr, title: str, every: str, schedule: str });

export function parseCronJob(ctx: ExtractContext, file: FileInfo, node: ts.NewExpression): CronRec | undefined {
  if (!atPackageLevel(ctx, node, "Cron jobs")) return undefined;
  const n = resourceName(ctx, node, 0, "cron job");
  if (!n || !checkName(ctx, n, "cron job", "-", "kebab-case")) return undefined;
  const cfg = config(ctx, CRON_CONFIG, node.arguments?.[1], node, true);
  if (!cfg.ok || !cfg.value) return undefined;
  const { endpoint, title, every, schedule } = cfg.value;
  if (!endpoint) {
    ctx.report("resource-config-literal", node.arguments![1], "missing required field `endpoint`");
    return undefined;
  }
  if (!every === !schedule) {
    ctx.report("cron-schedule", node.arguments![1], every ? "set either `every` or `schedule`, not both" : "set either `every` or `schedule`");
    return undefined;
  }
  if (every) {
    // tsparser/src/parser/resources/infra/cron.rs: whole seconds, a multiple of 60, at most 24 hours.
    const ms = tryParseDuration(every.value);
    const secs = Math.floor((ms ?? 0) / 1000);
    const problem =
      ms === undefined
        ? `invalid duration "${every.value}": Encore expects ${DURATION_GRAMMAR}`
        : secs % 60 !== 0
          ? "`every` must be a multiple of 60 seconds"
          : secs / 60 > 24 * 60
            ? "`every` must be at most 24 hours"
            : undefined;
    if (problem) {
      ctx.report("cron-schedule", every.node, problem);
      return undefined;
    }
  }
  if (schedule) {
    const fields = schedule.value.trim().split(/\s+/);
    let problem: string | undefined;
    if (fields.length !== 5) {
      problem = `invalid cron expression "${schedule.value}": it must have exactly 5 fields (minute, hour, day of month, month, day of week)`;
    } else {
      try {
        CronExpressionParser.parse(schedule.value);
      } catch (e) {
        problem = `invalid cron expression "${schedule.value}": ${(e as Error).message}`;
      }
    }
    if (problem) {
      ctx.report("cron-schedule", schedule.node, problem);
      return undefined;
    }
  }
  return {
    id: n.name,
    title: title?.value,
    every: every?.value,
    schedule: schedule?.value,
    service: file.service?.name,
    endpointExpr: endpoint.value,
    node,
    nameNode: n.node,
  };
}

// ─── SQL databases ──────────────────────────────────────────────────────────────────────────

export interface DatabaseRec {
  manifest: DatabaseManifest;
  nameNode: ts.Node;
}

const MIGRATIONS_OBJECT = object({ path: localRelPath, source: str });
const DATABASE_CONFIG = object({
  migrations: ((expr) => (ts.isStringLiteral(expr) ? localRelPath(expr) : MIGRATIONS_OBJECT(expr))) as ValueParser<
    string | ReturnType<typeof MIGRATIONS_OBJECT>
  >,
});
const SOURCES = new Set(["prisma", "drizzle", "drizzle/v1"]);

export function parseDatabase(ctx: ExtractContext, file: FileInfo, node: ts.NewExpression): DatabaseRec | undefined {
  if (!atPackageLevel(ctx, node, "SQL databases")) return undefined;
  const n = resourceName(ctx, node, 0, "database");
  if (!n || !checkName(ctx, n, "database", "_-", "lower-case")) return undefined;
  const cfg = config(ctx, DATABASE_CONFIG, node.arguments?.[1], node, false);
  if (!cfg.ok) return undefined;
  const manifest: DatabaseManifest = { name: n.name, service: file.service?.name, pos: ctx.pos(node) };
  const m = cfg.value?.migrations;
  if (m) {
    const rel = typeof m.value === "string" ? m.value : m.value.path?.value;
    const relNode = typeof m.value === "string" ? m.node : (m.value.path?.node ?? m.node);
    const source = typeof m.value === "string" ? undefined : m.value.source;
    if (rel === undefined) {
      ctx.report("resource-config-literal", m.node, "missing required field `path`");
      return undefined;
    }
    if (source && !SOURCES.has(source.value)) {
      ctx.report("resource-config-literal", source.node, `unexpected value for migration file source: ${source.value}`);
      return undefined;
    }
    const dir = resolve(dirname(file.sf.fileName), rel);
    if (!checkMigrations(ctx, relNode, dir, source?.value)) return undefined;
    manifest.migrations = ctx.rel(dir);
  }
  return { manifest, nameNode: n.node };
}

/** Checks the migration files' names (for the default layout: `N_name.up.sql`/`.down.sql`). */
function checkMigrations(ctx: ExtractContext, at: ts.Node, dir: string, source: string | undefined): boolean {
  if (!existsSync(dir)) {
    ctx.report("sqldb-migrations-dir", at, `migrations directory ${ctx.rel(dir)} does not exist`);
    return false;
  }
  if (!statSync(dir).isDirectory()) {
    ctx.report("sqldb-migrations-dir", at, `migrations path ${ctx.rel(dir)} is not a directory`);
    return false;
  }
  if (source === "prisma" || source === "drizzle/v1") {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name === "meta" || !existsSync(join(dir, e.name, "migration.sql"))) continue;
      if (!/^\d+_.+$/.test(e.name)) {
        ctx.report("sqldb-migration-name", at, `invalid migration directory name: ${e.name}`);
        return false;
      }
    }
    return true;
  }
  const pattern = source === "drizzle" ? /^(\d+)_([^.]+)\.sql$/ : /^(\d+)_([^.]+)\.(up|down)\.sql$/;
  const seen = new Map<number, string>();
  let ok = true;
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".sql")) continue;
    const match = pattern.exec(name);
    if (!match) {
      const expected = source === "drizzle" ? "<number>_<name>.sql" : "<number>_<name>.up.sql or <number>_<name>.down.sql";
      ctx.report("sqldb-migration-name", at, `invalid migration filename ${name} in ${ctx.rel(dir)} (expected ${expected})`);
      ok = false;
      continue;
    }
    if (match[3] === "down") continue;
    const num = Number(match[1]);
    const prev = seen.get(num);
    if (prev) {
      ctx.report("sqldb-migration-number", at, `migrations ${prev} and ${name} in ${ctx.rel(dir)} share the number ${num}`);
      ok = false;
    }
    seen.set(num, name);
  }
  return ok;
}

/** `SQLDatabase.named("x")`: a reference to a database declared elsewhere; only the name is checked. */
export function parseDatabaseRef(ctx: ExtractContext, node: ts.CallExpression): void {
  resourceName(ctx, node, 0, "database");
}

// ─── Secrets ────────────────────────────────────────────────────────────────────────────────

export function parseSecret(ctx: ExtractContext, file: FileInfo, node: ts.CallExpression): SecretManifest | undefined {
  if (enclosingFunction(node)) {
    ctx.report("resource-package-level", node, "secrets must be defined globally, not inside a function");
    return undefined;
  }
  if (!enclosingVariable(node)) {
    ctx.report("secret-bind", node, 'secrets must be bound to a variable: `const token = secret("Token")`');
    return undefined;
  }
  const n = resourceName(ctx, node, 0, "secret");
  if (!n) return undefined;
  if (!file.service) {
    ctx.report("resource-outside-service", node, `secret "${n.name}" must be loaded from within a service`);
    return undefined;
  }
  return { name: n.name, service: file.service.name, pos: ctx.pos(node) };
}

// ─── Auth handlers and gateways ─────────────────────────────────────────────────────────────

export interface AuthHandlerRec {
  manifest: AuthHandlerManifest;
  decl: ts.VariableDeclaration;
  node: ts.CallExpression;
}

export function parseAuthHandler(ctx: ExtractContext, file: FileInfo, node: ts.CallExpression): AuthHandlerRec | undefined {
  if (!atPackageLevel(ctx, node, "Auth handlers")) return undefined;
  const decl = enclosingVariable(node);
  if (!decl || !ts.isIdentifier(decl.name)) {
    ctx.report("auth-handler-bind", node, "auth handler must be bound to a variable");
    return undefined;
  }
  const handler = node.arguments[0];
  if (!handler) {
    ctx.report("auth-handler-types", node, "auth handler must have a handler function as its first argument");
    return undefined;
  }
  let request: ts.TypeNode | undefined;
  let response: ts.TypeNode | undefined;
  if (isInlineFunction(handler)) {
    if (handler.typeParameters) {
      ctx.report("auth-handler-types", handler.typeParameters[0], "auth handler cannot have type parameters");
      return undefined;
    }
    request = handler.parameters[0]?.type;
    response = handler.type;
  }
  request ??= node.typeArguments?.[0];
  response ??= node.typeArguments?.[1];
  if (!request || !response) {
    ctx.report("auth-handler-types", handler, `auth handler must have an explicitly defined ${request ? "result" : "parameter"} type`);
    return undefined;
  }
  if (!file.service) {
    ctx.report("resource-outside-service", node, "auth handler is not inside a service directory");
    return undefined;
  }
  ctx.types.check(request, `params type of auth handler ${decl.name.text}`);
  ctx.types.check(unwrapPromise(response), `auth data type of auth handler ${decl.name.text}`);
  const s = ctx.schemas;
  const type = s.typeOf(request);
  const problem = s.topLevelProblem(type);
  if (problem) {
    ctx.report("auth-handler-params", request, `invalid auth params type: ${problem}`);
    return undefined;
  }
  const top = s.topLevel(type, new Set(), "request");
  for (const f of top.fields) {
    if (!f.wire || f.wire.kind === "httpStatus") {
      const at = f.decl && f.decl.getSourceFile() === request.getSourceFile() ? f.decl : request;
      ctx.report(
        "auth-handler-params",
        at,
        `authHandler parameter type can only consist of Header<>, Query<> and Cookie<> fields; \`${f.field.name}\` is none of them`,
      );
      return undefined;
    }
  }
  return {
    manifest: { service: file.service.name, name: decl.name.text, file: file.rel, params: top.schema, pos: ctx.pos(node) },
    decl,
    node,
  };
}

export interface GatewayRec {
  service: string;
  file: string;
  node: ts.NewExpression;
  authHandlerExpr?: ts.Expression;
}

const GATEWAY_CONFIG = object({ authHandler: anyExpr });

export function parseGateway(ctx: ExtractContext, file: FileInfo, node: ts.NewExpression): GatewayRec | undefined {
  if (!atPackageLevel(ctx, node, "Gateways")) return undefined;
  const arg = node.arguments?.[0];
  if (!arg) {
    ctx.report("gateway-config", node, "missing config object");
    return undefined;
  }
  const cfg = config(ctx, GATEWAY_CONFIG, arg, node, true);
  if (!cfg.ok || !cfg.value) return undefined;
  if (!file.service) {
    ctx.report("resource-outside-service", node, "unable to determine the service of this gateway: it is not inside a service directory");
    return undefined;
  }
  return { service: file.service.name, file: file.rel, node, authHandlerExpr: cfg.value.authHandler?.value };
}

// ─── Metrics ────────────────────────────────────────────────────────────────────────────────

export interface MetricRec {
  name: string;
  node: ts.NewExpression;
}

const METRIC_CONFIG = object({});

/** snake_case of a label key, as Encore derives label names (`userId` → `user_id`). */
function snake(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[-\s]+/g, "_")
    .toLowerCase();
}

export function parseMetric(ctx: ExtractContext, node: ts.NewExpression): MetricRec | undefined {
  if (!atPackageLevel(ctx, node, "Metrics")) return undefined;
  const n = resourceName(ctx, node, 0, "metric");
  if (!n) return undefined;
  const problem = nameProblem(n.name, "_", "snake_case", "e_");
  if (problem) {
    ctx.report("metric-name", n.node, `invalid metric name "${n.name}": ${problem}`);
    return undefined;
  }
  if (!config(ctx, METRIC_CONFIG, node.arguments?.[1], node, false).ok) return undefined;
  const labels = node.typeArguments?.[0];
  if (labels) {
    for (const prop of ctx.checker.getPropertiesOfType(ctx.checker.getTypeFromTypeNode(labels))) {
      if (snake(prop.name) === "service") {
        const decl = prop.valueDeclaration;
        const at = decl && decl.getSourceFile() === node.getSourceFile() ? decl : labels;
        ctx.report("metric-label", at, `invalid label name '${prop.name}': the label name 'service' is reserved and added by the Encore runtime`);
        return undefined;
      }
    }
  }
  return { name: n.name, node };
}
