/**
 * Checks that need the whole app: references between resources (a subscription's topic, a cron
 * job's endpoint, a gateway's auth handler, resolved through imports to their declarations),
 * unique names, and the router's path conflicts across every endpoint.
 */

import ts from "typescript";
import type { ExtractContext } from "./context.ts";
import type { EndpointRec } from "./endpoints.ts";
import { classifyResourceCall, resolveSymbol, type ResourceKind } from "./encore-symbols.ts";
import type { AuthHandlerRec, CronRec, DatabaseRec, GatewayRec, MetricRec, SubscriptionRec, TopicRec } from "./infra.ts";
import { comparePaths } from "./paths.ts";
import type { CronJobManifest, GatewayManifest, SubscriptionManifest } from "./types.ts";

export interface Collected {
  endpoints: EndpointRec[];
  topics: TopicRec[];
  subscriptions: SubscriptionRec[];
  crons: CronRec[];
  databases: DatabaseRec[];
  authHandlers: AuthHandlerRec[];
  gateways: GatewayRec[];
  metrics: MetricRec[];
}

export interface Resolved {
  subscriptions: SubscriptionManifest[];
  cronJobs: CronJobManifest[];
  gateways: GatewayManifest[];
}

/** The variable declaration an expression refers to (through imports and re-exports). */
function declarationOf(ctx: ExtractContext, expr: ts.Expression): ts.Node | undefined {
  let e = expr;
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isSatisfiesExpression(e)) e = e.expression;
  const target = ts.isPropertyAccessExpression(e) ? e.name : e;
  const sym = resolveSymbol(ctx.checker, target);
  return sym?.valueDeclaration ?? sym?.declarations?.[0];
}

/**
 * Whether a declaration initialises a resource of one of `kinds` that was rejected (and reported)
 * already, so an unresolved reference to it is not reported a second time.
 */
function rejectedResource(ctx: ExtractContext, decl: ts.Node | undefined, kinds: ResourceKind[]): boolean {
  if (!decl || !ts.isVariableDeclaration(decl) || !decl.initializer) return false;
  let init: ts.Expression = decl.initializer;
  while (ts.isParenthesizedExpression(init) || ts.isAsExpression(init) || ts.isSatisfiesExpression(init)) init = init.expression;
  if (!ts.isCallExpression(init) && !ts.isNewExpression(init)) return false;
  const call = classifyResourceCall(ctx.checker, init);
  return !!call && kinds.includes(call.kind);
}

function where(ctx: ExtractContext, node: ts.Node): string {
  const p = ctx.pos(node);
  return `${p.file}:${p.line}`;
}

/** Resolves cross-references and runs the app-wide checks. */
export function checkApp(ctx: ExtractContext, c: Collected): Resolved {
  checkEndpointNames(ctx, c.endpoints);
  checkPathConflicts(ctx, c.endpoints);
  uniqueNames(
    ctx,
    c.topics,
    (t) => t.manifest.name,
    (t) => t.nameNode,
    "PubSub topic",
  );
  uniqueNames(
    ctx,
    c.crons,
    (t) => t.id,
    (t) => t.nameNode,
    "cron job",
  );
  uniqueNames(
    ctx,
    c.databases,
    (t) => t.manifest.name,
    (t) => t.nameNode,
    "SQL database",
  );
  uniqueNames(
    ctx,
    c.metrics,
    (t) => t.name,
    (t) => t.node,
    "metric",
  );

  const topicsByDecl = new Map<ts.Node, TopicRec>();
  for (const t of c.topics) if (t.decl) topicsByDecl.set(t.decl, t);
  const subscriptions: SubscriptionManifest[] = [];
  const subsPerTopic = new Map<TopicRec, Map<string, SubscriptionRec>>();
  for (const s of c.subscriptions) {
    const decl = declarationOf(ctx, s.topicExpr);
    const topic = decl && topicsByDecl.get(decl);
    if (!topic) {
      if (rejectedResource(ctx, decl, ["Topic"])) continue;
      ctx.report("subscription-topic", s.topicExpr, `cannot resolve \`${s.topicExpr.getText()}\` to a \`new Topic(...)\` declaration`);
      continue;
    }
    const seen = subsPerTopic.get(topic) ?? new Map<string, SubscriptionRec>();
    subsPerTopic.set(topic, seen);
    const prev = seen.get(s.manifest.name);
    if (prev) {
      ctx.report(
        "resource-name-duplicate",
        s.nameNode,
        `PubSub subscription "${s.manifest.name}" is already defined on topic "${topic.manifest.name}" at ${where(ctx, prev.nameNode)}`,
      );
      continue;
    }
    seen.set(s.manifest.name, s);
    subscriptions.push({ topic: topic.manifest.name, ...s.manifest });
  }

  const endpointsByDecl = new Map<ts.Node, EndpointRec>(c.endpoints.map((e) => [e.decl, e]));
  const cronJobs: CronJobManifest[] = [];
  for (const cron of c.crons) {
    const decl = declarationOf(ctx, cron.endpointExpr);
    const ep = decl && endpointsByDecl.get(decl);
    if (!ep) {
      if (rejectedResource(ctx, decl, ["api", "api.raw", "api.static", "api.streamIn", "api.streamOut", "api.streamInOut"])) continue;
      ctx.report("cron-endpoint", cron.endpointExpr, `cannot resolve \`${cron.endpointExpr.getText()}\` to an API endpoint of this app`);
      continue;
    }
    if (ep.manifest.kind !== "api") {
      ctx.report("cron-endpoint", cron.endpointExpr, `cron jobs can only call api() endpoints; \`${ep.manifest.name}\` is ${ep.manifest.kind}`);
      continue;
    }
    if (ep.takesParams) {
      ctx.report(
        "cron-endpoint",
        cron.endpointExpr,
        `the endpoint \`${ep.manifest.service}.${ep.manifest.name}\` takes parameters, but a cron job calls it without any`,
      );
      continue;
    }
    const job: CronJobManifest = {
      id: cron.id,
      endpoint: { service: ep.manifest.service, name: ep.manifest.name },
      service: cron.service ?? ep.manifest.service,
      pos: ctx.pos(cron.node),
    };
    if (cron.title !== undefined) job.title = cron.title;
    if (cron.every !== undefined) job.every = cron.every;
    if (cron.schedule !== undefined) job.schedule = cron.schedule;
    cronJobs.push(job);
  }

  for (const extra of c.authHandlers.slice(1)) {
    ctx.report(
      "auth-handler-duplicate",
      extra.node,
      `only one auth handler can be defined per application (another is at ${where(ctx, c.authHandlers[0].node)})`,
    );
  }
  const authByDecl = new Map<ts.Node, AuthHandlerRec>(c.authHandlers.map((a) => [a.decl, a]));
  const gateways: GatewayManifest[] = [];
  for (const [i, gw] of c.gateways.entries()) {
    if (i > 0) {
      ctx.report("gateway-config", gw.node, `multiple gateways are not supported (another is at ${where(ctx, c.gateways[0].node)})`);
      continue;
    }
    const manifest: GatewayManifest = { name: "api-gateway", service: gw.service, file: gw.file, pos: ctx.pos(gw.node) };
    if (gw.authHandlerExpr) {
      const decl = declarationOf(ctx, gw.authHandlerExpr);
      const auth = decl && authByDecl.get(decl);
      if (!auth) {
        if (rejectedResource(ctx, decl, ["authHandler"])) continue;
        ctx.report("gateway-config", gw.authHandlerExpr, `cannot resolve \`${gw.authHandlerExpr.getText()}\` to an authHandler(...) declaration`);
        continue;
      }
      manifest.authHandler = auth.manifest.name;
    }
    gateways.push(manifest);
  }
  return { subscriptions, cronJobs, gateways };
}

function uniqueNames<T>(ctx: ExtractContext, items: T[], name: (t: T) => string, node: (t: T) => ts.Node, what: string): void {
  const seen = new Map<string, T>();
  for (const item of items) {
    const prev = seen.get(name(item));
    if (prev) {
      ctx.report("resource-name-duplicate", node(item), `${what} "${name(item)}" is already defined at ${where(ctx, node(prev))}`);
    } else {
      seen.set(name(item), item);
    }
  }
}

function checkEndpointNames(ctx: ExtractContext, endpoints: EndpointRec[]): void {
  const seen = new Map<string, EndpointRec>();
  for (const ep of endpoints) {
    const key = `${ep.manifest.service}\0${ep.manifest.name}`;
    const prev = seen.get(key);
    if (prev) {
      ctx.report(
        "api-name-duplicate",
        ep.decl.name,
        `an endpoint named \`${ep.manifest.name}\` is already defined in service ${ep.manifest.service} at ${where(ctx, prev.decl.name)}`,
      );
    } else {
      seen.set(key, ep);
    }
  }
}

/**
 * Registers each service's endpoints in a router per method, as Encore does
 * (tsparser/src/app/mod.rs, `validate_apis`: one matchit router per service), and reports what it
 * refuses. Encore does not compare routes across services; the Node host serves every service
 * from one router, so a collision between services is reported as a host safeguard warning.
 */
function checkPathConflicts(ctx: ExtractContext, endpoints: EndpointRec[]): void {
  const perService = new Map<string, EndpointRec[]>();
  for (const ep of endpoints) perService.set(ep.manifest.service, [...(perService.get(ep.manifest.service) ?? []), ep]);
  const refused = new Set<EndpointRec>();
  for (const group of perService.values()) {
    for (const [ep, clash, method, kind] of collisions(group)) {
      refused.add(ep);
      const other = `${clash.manifest.service}.${clash.manifest.name} (${clash.manifest.path}, ${where(ctx, clash.pathNode)})`;
      if (kind === "duplicate") ctx.report("api-path-duplicate", ep.pathNode, `${method} ${ep.manifest.path} is already served by ${other}`);
      else
        ctx.report(
          "api-path-conflict",
          ep.pathNode,
          `${method} ${ep.manifest.path} conflicts with ${other}: a parameter and a wildcard cannot share a position`,
        );
    }
  }
  for (const [ep, clash, method, kind] of collisions(endpoints.filter((e) => !refused.has(e)))) {
    if (clash.manifest.service === ep.manifest.service) continue;
    ctx.report(
      "host-path-conflict",
      ep.pathNode,
      `${method} ${ep.manifest.path} ${kind === "duplicate" ? "is the same route as" : "conflicts with"} ${clash.manifest.service}.${clash.manifest.name} (${clash.manifest.path}): Encore routes each service separately, but the Node host cannot serve both`,
    );
  }
}

/** Inserts endpoints one by one per method; yields each endpoint the router refuses, once. */
function* collisions(endpoints: EndpointRec[]): Generator<[EndpointRec, EndpointRec, string, "duplicate" | "conflict"]> {
  const byMethod = new Map<string, EndpointRec[]>();
  for (const ep of endpoints) {
    for (const method of ep.routeMethods) {
      const registered = byMethod.get(method) ?? [];
      byMethod.set(method, registered);
      const clash = registered.find((other) => comparePaths(other.segments, ep.segments));
      if (clash) {
        yield [ep, clash, method, comparePaths(clash.segments, ep.segments)!];
        break;
      }
      registered.push(ep);
    }
  }
}
