/**
 * Endpoints: `api()`, `api.raw`, `api.static` and `api.streamIn/Out/InOut`, read as Encore's parser
 * reads them — options from the literal, request and response types from the handler's
 * annotations or the call's type arguments — and checked against its rules.
 */

import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import ts from "typescript";
import { bindingOf, enclosingFunction, isInlineFunction, type ExtractContext, type FileInfo } from "./context.ts";
import type { ResourceKind } from "./encore-symbols.ts";
import { unwrapPromise } from "./encore-types.ts";
import { LiteralError, arrayOf, bool, headersMap, int, localRelPath, nullable, object, str, uint, type ValueParser } from "./literals.ts";
import { dynamicSegments, parsePath, type Segment } from "./paths.ts";
import { isPathParamType, isQueryCompatible, type TopLevel } from "./schema.ts";
import type { EndpointKind, EndpointManifest } from "./types.ts";

/** Encore's method order (it sorts method lists by it). */
const METHOD_ORDER = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"];
/** What `"*"` expands to in Encore's router (CONNECT is left out). */
export const ALL_METHODS = METHOD_ORDER.slice(0, 8);
const BODYLESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"]);

class MethodError extends LiteralError {}

const methods: ValueParser<string[]> = (expr) => {
  const one = (e: ts.Expression): string => {
    const m = str(e);
    if (m !== "*" && !METHOD_ORDER.includes(m)) throw new MethodError(e, `invalid method "${m}"`);
    return m;
  };
  if (ts.isStringLiteral(expr)) return [one(expr)];
  if (!ts.isArrayLiteralExpression(expr)) {
    throw new MethodError(expr, "invalid methods: must be a string or an array of strings");
  }
  const list = arrayOf(one)(expr);
  if (list.includes("*")) {
    if (list.length > 1) throw new MethodError(expr, "invalid methods: cannot mix * and other methods");
    return ["*"];
  }
  return [...new Set(list)].sort((a, b) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b));
};

const ENDPOINT_OPTIONS = object({
  method: methods,
  path: str,
  expose: bool,
  auth: bool,
  bodyLimit: nullable(int),
  tags: arrayOf(str),
  sensitive: bool,
  dir: localRelPath,
  notFound: localRelPath,
  notFoundStatus: uint,
  headers: headersMap,
});

const KINDS: Partial<Record<ResourceKind, EndpointKind>> = {
  api: "api",
  "api.raw": "raw",
  "api.static": "static",
  "api.streamIn": "streamIn",
  "api.streamOut": "streamOut",
  "api.streamInOut": "streamInOut",
};

export interface EndpointRec {
  manifest: EndpointManifest;
  decl: ts.VariableDeclaration;
  /** The path string (or the options object when the path is the default), for diagnostics. */
  pathNode: ts.Node;
  segments: Segment[];
  /** The methods the router registers (static assets also answer HEAD). */
  routeMethods: string[];
  /** Whether calling it needs a request (cron jobs cannot pass one). */
  takesParams: boolean;
}

/** The types an endpoint's handler declares, as Encore finds them in the syntax. */
interface HandlerTypes {
  request?: ts.TypeNode;
  response?: ts.TypeNode;
}

/** Parses one endpoint call; reports problems and returns undefined when Encore would reject it. */
export function parseEndpoint(ctx: ExtractContext, file: FileInfo, call: ts.CallExpression, resourceKind: ResourceKind): EndpointRec | undefined {
  const kind = KINDS[resourceKind];
  if (!kind) return undefined;
  if (enclosingFunction(call)) {
    ctx.report("resource-package-level", call, "API endpoints must be declared at package level, not inside a function");
    return undefined;
  }
  const bind = bindingOf(call);
  if (!bind.decl || !bind.name || !bind.exported) {
    const why = bind.decl ? `\`${bind.name}\` is not exported` : "it is not assigned to a variable";
    ctx.report("api-bind", call, `API endpoint must be bound to an exported variable (${why}): \`export const name = api(...)\``);
    return undefined;
  }
  const name = bind.name;
  const optionsArg = call.arguments[0];
  if (!optionsArg) {
    ctx.report("api-options-literal", call, "API endpoint must have a config object as its first argument");
    return undefined;
  }
  let cfg: ReturnType<typeof ENDPOINT_OPTIONS>;
  try {
    cfg = ENDPOINT_OPTIONS(optionsArg);
  } catch (e) {
    if (!(e instanceof LiteralError)) throw e;
    ctx.report(e instanceof MethodError ? "api-method" : "api-options-literal", e.node, e.message);
    return undefined;
  }
  const service = file.service;
  if (!service) {
    ctx.report("resource-outside-service", call, `API endpoint \`${name}\` is not inside a service directory (no encore.service.ts above ${file.rel})`);
    return undefined;
  }

  const path = cfg.path?.value ?? `/${service.name}.${name}`;
  const pathNode = cfg.path?.node ?? optionsArg;
  const parsed = parsePath(path);
  if (!parsed.ok) {
    ctx.report("api-path", pathNode, cfg.path ? parsed.error : `${parsed.error} (no path given, so it defaults to ${path})`);
    return undefined;
  }
  const segments = parsed.segments;

  const manifest: EndpointManifest = {
    service: service.name,
    name,
    kind,
    methods: kind === "api" || kind === "raw" ? (cfg.method?.value ?? ["POST"]) : ["GET"],
    path,
    expose: cfg.expose?.value ?? false,
    auth: cfg.auth?.value ?? false,
    tags: cfg.tags?.value ?? [],
    pos: ctx.pos(bind.decl.name),
  };
  if (cfg.bodyLimit) manifest.bodyLimit = cfg.bodyLimit.value;
  const rec: EndpointRec = {
    manifest,
    decl: bind.decl,
    pathNode,
    segments,
    routeMethods: manifest.methods[0] === "*" ? ALL_METHODS : kind === "static" ? ["HEAD", "GET"] : manifest.methods,
    takesParams: false,
  };

  const ok =
    kind === "api"
      ? typedEndpoint(ctx, call, rec)
      : kind === "raw"
        ? rawEndpoint(ctx, call)
        : kind === "static"
          ? staticEndpoint(ctx, file, optionsArg, cfg, rec)
          : streamEndpoint(ctx, call, rec);
  return ok ? rec : undefined;
}

function typedEndpoint(ctx: ExtractContext, call: ts.CallExpression, rec: EndpointRec): boolean {
  const handler = call.arguments[1];
  if (!handler) {
    ctx.report("api-handler", call, "API endpoint must have a handler function as its second argument");
    return false;
  }
  const types = handlerTypes(ctx, call, handler);
  if (!types) return false;
  if (!resolveTypes(ctx, rec, { request: types.request, response: types.response && unwrapPromise(types.response) })) return false;
  const request = types.request ? requestSchema(ctx, types.request, rec) : undefined;
  if (request === false) return false;
  if (!request && !checkPathParamsWithoutRequest(ctx, rec)) return false;
  if (request) {
    rec.manifest.request = request.schema;
    rec.takesParams = request.fields.length > 0;
  }
  return responseSchema(ctx, types.response, rec);
}

/**
 * The request and response type nodes: the handler's parameter and return annotations, else the
 * call's type arguments. Inferred types are invisible to Encore, so a handler that takes or returns
 * something without declaring it is reported.
 */
function handlerTypes(ctx: ExtractContext, call: ts.CallExpression, handler: ts.Expression): HandlerTypes | undefined {
  const typeArgs = call.typeArguments;
  if (isInlineFunction(handler)) {
    if (handler.typeParameters) {
      ctx.report("api-handler", handler.typeParameters[0], "endpoint handler cannot have type parameters");
      return undefined;
    }
    const param = handler.parameters[0];
    const request = param?.type ?? typeArgs?.[0];
    if (param && !request) {
      ctx.report("api-handler-types", param, "the handler's parameter has no type annotation: Encore reads the request type from it (or from api<Req, Resp>)");
      return undefined;
    }
    const response = handler.type ?? typeArgs?.[1];
    if (!response && !returnsNothing(ctx, handler)) {
      ctx.report(
        "api-handler-types",
        handler,
        "the handler returns a value but declares no return type: Encore reads the response type only from the annotation (`: Promise<Resp>`) or api<Req, Resp>, never from inferred types",
      );
      return undefined;
    }
    return { request, response };
  }
  const signatures = ctx.checker.getTypeAtLocation(handler).getCallSignatures();
  if (signatures.length === 0) {
    ctx.report("api-handler", handler, "the endpoint handler must be a function");
    return undefined;
  }
  if (!typeArgs) {
    const sig = signatures[0];
    const returns = ctx.schemas.awaited(sig.getReturnType());
    if (sig.getParameters().length > 0 || !(ctx.schemas.isVoid(returns) || ctx.schemas.isEmptyObject(returns))) {
      ctx.report(
        "api-handler-types",
        handler,
        "Encore reads request and response types from an inline handler's annotations; pass a function expression or api<Req, Resp>(...)",
      );
      return undefined;
    }
  }
  return { request: typeArgs?.[0], response: typeArgs?.[1] };
}

function returnsNothing(ctx: ExtractContext, handler: ts.FunctionExpression | ts.ArrowFunction): boolean {
  const sig = ctx.checker.getSignatureFromDeclaration(handler);
  if (!sig) return true;
  const t = ctx.schemas.awaited(sig.getReturnType());
  return ctx.schemas.isVoid(t) || ctx.schemas.isEmptyObject(t);
}

/**
 * Runs Encore's type resolver over an endpoint's types (request, response, stream messages);
 * false when it reported a problem, so the schema checks do not report the same types again.
 */
function resolveTypes(ctx: ExtractContext, rec: EndpointRec, types: Record<string, ts.TypeNode | undefined>): boolean {
  let ok = true;
  for (const [role, node] of Object.entries(types)) {
    if (node) ok = ctx.types.check(node, `${role} type of ${rec.manifest.service}.${rec.manifest.name}`) && ok;
  }
  return ok;
}

/** Builds and checks a request (or stream handshake) schema; false when Encore rejects it. */
function requestSchema(ctx: ExtractContext, node: ts.TypeNode, rec: EndpointRec, checkQuery = true): TopLevel | undefined | false {
  const s = ctx.schemas;
  const type = s.typeOf(node);
  if (s.isVoid(type)) return undefined;
  const problem = s.topLevelProblem(type);
  if (problem) {
    ctx.report("api-schema-type", node, `invalid request type: ${problem}`);
    return false;
  }
  const params = dynamicSegments(rec.segments);
  const top = s.topLevel(type, new Set(params.map((p) => p.value)), "request");
  if (!reportIssues(ctx, node, "request")) return false;

  let ok = true;
  for (const seg of params) {
    const field = top.fields.find((f) => f.field.name === seg.value);
    if (!field) {
      ctx.report("api-path-param-missing", rec.pathNode, `path parameter '${seg.value}' is not a field of the request type \`${s.show(type)}\``);
      ok = false;
    } else if (seg.kind === "param" && !isPathParamType(s, field.type)) {
      ctx.report(
        "api-path-param-type",
        fieldNode(field.decl, node),
        `path parameter '${seg.value}' has type \`${s.show(field.type)}\`; it must be a string, number or boolean`,
      );
      ok = false;
    }
  }
  const query = checkQuery && rec.manifest.methods.some((m) => m === "*" || BODYLESS.has(m));
  for (const f of top.fields) {
    const inQuery = (checkQuery && f.field.loc === "query") || (query && f.field.loc === "body");
    if (inQuery && !isQueryCompatible(ctx.checker, s, f.type)) {
      const why =
        f.field.loc === "query" ? "it is a Query<> field" : `the endpoint accepts ${rec.manifest.methods.join("/")}, so body fields travel in the query string`;
      ctx.report(
        "api-query-type",
        fieldNode(f.decl, node),
        `field \`${f.field.name}\` has type \`${s.show(f.type)}\`, which a query string cannot carry (${why})`,
      );
      ok = false;
    }
  }
  return ok ? top : false;
}

function checkPathParamsWithoutRequest(ctx: ExtractContext, rec: EndpointRec): boolean {
  const params = dynamicSegments(rec.segments);
  if (params.length === 0) return true;
  const names = params.map((p) => `'${p.value}'`).join(", ");
  ctx.report("api-path-param-missing", rec.pathNode, `the path has parameters (${names}) but the endpoint declares no request type to hold them`);
  return false;
}

function responseSchema(ctx: ExtractContext, node: ts.TypeNode | undefined, rec: EndpointRec): boolean {
  if (!node) return true;
  const s = ctx.schemas;
  const type = s.awaited(s.typeOf(node));
  if (s.isVoid(type) || s.isEmptyObject(type)) return true;
  const problem = s.topLevelProblem(type);
  if (problem) {
    ctx.report("api-schema-type", node, `invalid response type: ${problem}`);
    return false;
  }
  const top = s.topLevel(type, new Set(), "response");
  if (!reportIssues(ctx, node, "response")) return false;
  const status = top.fields.filter((f) => f.wire?.kind === "httpStatus");
  if (status.length > 1) {
    ctx.report("api-http-status", fieldNode(status[1].decl, node), "http status can only be defined once per response type");
    return false;
  }
  if (status[0]) rec.manifest.statusField = status[0].field.name;
  rec.manifest.response = top.schema;
  return true;
}

function reportIssues(ctx: ExtractContext, node: ts.Node, what: string): boolean {
  const issues = ctx.schemas.issues;
  if (issues.length === 0) return true;
  ctx.report(
    "api-schema-unsupported",
    node,
    `unsupported ${what} type: ${issues.slice(0, 3).join("; ")}${issues.length > 3 ? ` (+${issues.length - 3} more)` : ""}`,
  );
  return false;
}

/** A field's declaration when it is in an app file, else the type node that brought it in. */
function fieldNode(decl: ts.Node | undefined, fallback: ts.Node): ts.Node {
  return decl && !decl.getSourceFile().fileName.includes("/node_modules/") && fallback.getSourceFile() === decl.getSourceFile() ? decl : fallback;
}

function rawEndpoint(ctx: ExtractContext, call: ts.CallExpression): boolean {
  const handler = call.arguments[1];
  if (!handler) {
    ctx.report("api-handler", call, "API endpoint must have a handler function as its second argument");
    return false;
  }
  if (ctx.checker.getTypeAtLocation(handler).getCallSignatures().length === 0) {
    ctx.report("api-handler", handler, "the endpoint handler must be a function");
    return false;
  }
  return true;
}

function staticEndpoint(ctx: ExtractContext, file: FileInfo, optionsArg: ts.Expression, cfg: ReturnType<typeof ENDPOINT_OPTIONS>, rec: EndpointRec): boolean {
  if (!cfg.dir) {
    ctx.report("api-static", optionsArg, "static assets must have the 'dir' field set");
    return false;
  }
  const base = dirname(file.sf.fileName);
  const dir = resolve(base, cfg.dir.value);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    ctx.report("api-static", cfg.dir.node, `unable to read static assets directory ${ctx.rel(dir)}`);
    return false;
  }
  rec.manifest.staticDir = ctx.rel(dir);
  if (cfg.notFound) {
    const notFound = resolve(base, cfg.notFound.value);
    if (!existsSync(notFound) || !statSync(notFound).isFile()) {
      ctx.report("api-static", cfg.notFound.node, `notFound file ${ctx.rel(notFound)} does not exist`);
      return false;
    }
    rec.manifest.notFound = ctx.rel(notFound);
  }
  if (cfg.notFoundStatus) rec.manifest.notFoundStatus = cfg.notFoundStatus.value;
  const firstDynamic = rec.segments.findIndex((s) => s.kind !== "literal");
  if (firstDynamic >= 0 && firstDynamic !== rec.segments.length - 1) {
    const multiple = dynamicSegments(rec.segments).length > 1;
    ctx.report(
      "api-static",
      rec.pathNode,
      multiple ? "static assets path cannot contain multiple dynamic segments" : "static assets path cannot have static segments after dynamic segments",
    );
    return false;
  }
  return true;
}

/** Expected type-argument counts of each stream kind, without and with a handshake. */
const STREAM_ARITY: Record<string, [number[], number[]]> = {
  streamInOut: [[2], [3]],
  streamIn: [
    [1, 2],
    [2, 3],
  ],
  streamOut: [[1], [2]],
};

function streamEndpoint(ctx: ExtractContext, call: ts.CallExpression, rec: EndpointRec): boolean {
  const kind = rec.manifest.kind;
  const handler = call.arguments[1];
  if (!handler) {
    ctx.report("api-handler", call, "API endpoint must have a handler function as its second argument");
    return false;
  }
  if (isInlineFunction(handler) && handler.typeParameters) {
    ctx.report("api-handler", handler.typeParameters[0], "stream endpoint handler cannot have type parameters");
    return false;
  }
  const typeArgs = call.typeArguments;
  if (!typeArgs) {
    ctx.report("api-stream-types", call, `missing type parameters in call to ${kind}`);
    return false;
  }
  const handshake = isInlineFunction(handler) && handler.parameters.length === 2;
  const expected = STREAM_ARITY[kind][handshake ? 1 : 0];
  if (!expected.includes(typeArgs.length)) {
    ctx.report(
      "api-stream-types",
      typeArgs[0],
      `wrong number of type parameters for ${kind}${handshake ? " with a handshake" : ""}: expected ${expected.join(" or ")}, found ${typeArgs.length}`,
    );
    return false;
  }
  const at = (i: number): ts.TypeNode | undefined => typeArgs[handshake ? i + 1 : i];
  const handshakeNode = handshake ? typeArgs[0] : undefined;
  const incoming = kind === "streamOut" ? undefined : at(0);
  let outgoing: ts.TypeNode | undefined = kind === "streamOut" ? at(0) : at(1);
  if (kind === "streamIn" && !outgoing && isInlineFunction(handler)) outgoing = handler.type;
  if (!resolveTypes(ctx, rec, { handshake: handshakeNode, "incoming message": incoming, "outgoing message": outgoing && unwrapPromise(outgoing) }))
    return false;

  for (const node of [incoming, outgoing]) {
    if (!node) continue;
    const t = ctx.schemas.awaited(ctx.schemas.typeOf(node));
    if (ctx.schemas.isVoid(t)) continue;
    const problem = ctx.schemas.topLevelProblem(t);
    if (problem) {
      ctx.report("api-schema-type", node, `invalid stream message type: ${problem}`);
      return false;
    }
  }

  const paramSource = handshakeNode ?? incoming;
  // Only a handshake is decoded from the URL; a stream's first message is not.
  const request = paramSource ? requestSchema(ctx, paramSource, rec, paramSource === handshakeNode) : undefined;
  if (request === false) return false;
  if (!request && !checkPathParamsWithoutRequest(ctx, rec)) return false;
  if (request && handshakeNode) {
    rec.manifest.request = request.schema;
    rec.takesParams = request.fields.length > 0;
  }
  return responseSchema(ctx, outgoing, rec);
}
