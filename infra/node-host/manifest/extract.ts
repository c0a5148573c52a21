/**
 * The manifest extractor: reads an Encore.ts app with the TypeScript compiler API and returns what
 * Encore's own parser would know about it (services, endpoints with their wire schemas, topics,
 * subscriptions, cron jobs, databases, secrets, auth handler, gateway), plus a diagnostic for
 * everything Encore's parser would reject. The same pass is the project's conformance check.
 *
 * @example
 * const { manifest, diagnostics } = extractManifest("/work/main");
 * for (const d of diagnostics) console.log(formatDiagnostic(d));
 */

import { basename, dirname, resolve, sep } from "node:path";
import ts from "typescript";
import { checkApp, type Collected } from "./app-checks.ts";
import { ExtractContext, bindingOf, isServiceFileName, type FileInfo, type ServiceInfo } from "./context.ts";
import { classifyResourceCall, encoreModuleOf, importedAsEncoreExpects, type ResourceCall, type ResourceKind } from "./encore-symbols.ts";
import { parseEndpoint } from "./endpoints.ts";
import {
  parseAuthHandler,
  parseCronJob,
  parseDatabase,
  parseDatabaseRef,
  parseGateway,
  parseMetric,
  parseSecret,
  parseSubscription,
  parseTopic,
} from "./infra.ts";
import { LiteralError, anyExpr, object } from "./literals.ts";
import { ImportResolver, importsEncore, valueImports, type ValueImport } from "./imports.ts";
import { createAppProgram, readCompilerOptions } from "./program.ts";
import { sortDiagnostics } from "./rules.ts";
import { checkUsage } from "./usage.ts";
import { SchemaBuilder } from "./schema.ts";
import { readAppSources, type AppSources } from "./sources.ts";
import type { Diagnostic, Manifest, SecretManifest } from "./types.ts";

export { formatDiagnostic, RULES, type RuleId } from "./rules.ts";
export { readAppSources } from "./sources.ts";

export interface ExtractResult {
  manifest: Manifest;
  diagnostics: Diagnostic[];
}

/** Extracts the manifest of the app at `appRoot` (the directory holding encore.app). */
export function extractManifest(appRoot: string): ExtractResult {
  return extractFromSources(readAppSources(resolve(appRoot)));
}

/** Extracts from already-read sources (`loadManifest` reads them once to hash them). */
export function extractFromSources(sources: AppSources): ExtractResult {
  const scan = scanImports(sources);
  const program = createAppProgram(sources, scan.programRoots);
  const checker = program.getTypeChecker();
  const ctx = new ExtractContext(sources.appRoot, program, checker, new SchemaBuilder(checker, program));

  const files: FileInfo[] = [];
  for (const fileName of sources.files) {
    const inProgram = program.getSourceFile(fileName);
    const sf = inProgram ?? scan.parsed.get(fileName)!;
    const syntax = inProgram ? program.getSyntacticDiagnostics(sf) : parseDiagnostics(sf);
    for (const d of syntax) {
      const { line, character } = sf.getLineAndCharacterOfPosition(d.start ?? 0);
      ctx.report("ts-syntax", { file: ctx.rel(fileName), line: line + 1, column: character + 1 }, ts.flattenDiagnosticMessageText(d.messageText, " "));
    }
    for (const imp of scan.unresolved.get(fileName) ?? []) {
      ctx.report(
        "import-unresolved",
        imp.node,
        `cannot resolve "${imp.specifier}": Encore resolves every import that is not \`import type\`, in every file it walks`,
      );
    }
    if (inProgram) files.push({ sf, rel: ctx.rel(fileName), isServiceFile: isServiceFileName(fileName) });
  }

  const declaredServices = discoverServices(ctx, files);
  const services = [...declaredServices, ...implicitServices(ctx, files, declaredServices)];
  for (const file of files) file.service = nearestService(services, file.sf.fileName);

  const collected: Collected = { endpoints: [], topics: [], subscriptions: [], crons: [], databases: [], authHandlers: [], gateways: [], metrics: [] };
  const secrets: SecretManifest[] = [];
  const resourceFiles = new Map<ServiceInfo, Set<string>>();

  for (const file of files) {
    const declared = (ok: unknown) => {
      if (ok && file.service) {
        const set = resourceFiles.get(file.service) ?? new Set<string>();
        set.add(file.rel);
        resourceFiles.set(file.service, set);
      }
    };
    let serviceCount = 0;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
        const call = classifyResourceCall(checker, node);
        if (call) {
          if (!importedAsEncoreExpects(checker, call)) {
            reportIndirectImport(ctx, node, call);
          } else if (call.kind === "Service") {
            serviceCount++;
            declared(checkServiceDeclaration(ctx, file, node as ts.NewExpression, serviceCount));
          } else {
            declared(parseResource(ctx, file, node, call, collected, secrets));
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    try {
      visit(file.sf);
    } catch (e) {
      ctx.report("extractor-error", { file: file.rel, line: 1, column: 1 }, `the extractor failed: ${(e as Error).stack ?? e}`);
    }
    if (file.isServiceFile && serviceCount === 0) {
      ctx.report("service-missing", { file: file.rel, line: 1, column: 1 }, 'encore.service.ts must define a Service: `export default new Service("name")`');
    }
  }

  const resolved = checkApp(ctx, collected);
  checkUsage(ctx, files, collected.topics);
  const manifest: Manifest = {
    hash: sources.hash,
    services: [...services]
      .map((s) => ({ name: s.name, dir: s.dir, files: [...(resourceFiles.get(s) ?? [])].sort() }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    endpoints: collected.endpoints.map((e) => e.manifest).sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name)),
    topics: collected.topics.map((t) => t.manifest).sort((a, b) => a.name.localeCompare(b.name)),
    subscriptions: resolved.subscriptions.sort((a, b) => a.topic.localeCompare(b.topic) || a.name.localeCompare(b.name)),
    cronJobs: resolved.cronJobs.sort((a, b) => a.id.localeCompare(b.id)),
    databases: collected.databases.map((d) => d.manifest).sort((a, b) => a.name.localeCompare(b.name)),
    authHandlers: collected.authHandlers.map((a) => a.manifest),
    gateways: resolved.gateways,
    secrets: dedupeSecrets(secrets),
    types: ctx.schemas.types,
  };
  return { manifest, diagnostics: sortDiagnostics(ctx.diagnostics) };
}

/** Dispatches a recognised resource call to its parser; returns whether it declared a resource. */
function parseResource(
  ctx: ExtractContext,
  file: FileInfo,
  node: ts.CallExpression | ts.NewExpression,
  call: ResourceCall,
  c: Collected,
  secrets: SecretManifest[],
): boolean {
  const add = <T>(list: T[], rec: T | undefined) => {
    if (rec) list.push(rec);
    return rec !== undefined;
  };
  switch (call.kind) {
    case "api":
    case "api.raw":
    case "api.static":
    case "api.streamIn":
    case "api.streamOut":
    case "api.streamInOut":
      return add(c.endpoints, parseEndpoint(ctx, file, node as ts.CallExpression, call.kind));
    case "Topic":
      return add(c.topics, parseTopic(ctx, file, node as ts.NewExpression));
    case "Subscription":
      return add(c.subscriptions, parseSubscription(ctx, file, node as ts.NewExpression));
    case "CronJob":
      return add(c.crons, parseCronJob(ctx, file, node as ts.NewExpression));
    case "SQLDatabase":
      return add(c.databases, parseDatabase(ctx, file, node as ts.NewExpression));
    case "SQLDatabase.named":
      parseDatabaseRef(ctx, node as ts.CallExpression);
      return false;
    case "secret":
      return add(secrets, parseSecret(ctx, file, node as ts.CallExpression));
    case "authHandler":
      return add(c.authHandlers, parseAuthHandler(ctx, file, node as ts.CallExpression));
    case "Gateway":
      return add(c.gateways, parseGateway(ctx, file, node as ts.NewExpression));
    case "Metric":
      return add(c.metrics, parseMetric(ctx, node as ts.NewExpression));
    case "Service":
      return false;
  }
}

interface ImportScan {
  /** Every walked file, parsed on its own. */
  parsed: Map<string, ts.SourceFile>;
  /** Imports Encore's resolver would fail on, per file. */
  unresolved: Map<string, ValueImport[]>;
  /** Files that may declare or use resources: service files, files importing encore.dev/~encore or such a file. */
  programRoots: string[];
}

/**
 * Parses every walked file and resolves its imports. Only files that import Encore, or import a
 * file that does (the usage rules), need the type checker; the rest is checked for syntax and
 * imports, which is all Encore does with them, without paying for their dependencies' types.
 */
function scanImports(sources: AppSources): ImportScan {
  const resolver = new ImportResolver(sources.appRoot, readCompilerOptions(sources.appRoot));
  const parsed = new Map<string, ts.SourceFile>();
  const unresolved = new Map<string, ValueImport[]>();
  const targets = new Map<string, string[]>();
  const seeds = new Set<string>();
  for (const file of sources.files) {
    const sf = ts.createSourceFile(file, sources.text.get(file) ?? "", ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    parsed.set(file, sf);
    const imports = valueImports(sf);
    if (importsEncore(imports) || isServiceFileName(file)) seeds.add(file);
    const resolved: string[] = [];
    for (const imp of imports) {
      const target = resolver.resolve(imp.specifier, file);
      if (target === undefined) unresolved.set(file, [...(unresolved.get(file) ?? []), imp]);
      else if (target !== "external" && resolver.isAppFile(target)) resolved.push(target);
    }
    targets.set(file, resolved);
  }
  const programRoots = sources.files.filter((f) => seeds.has(f) || targets.get(f)!.some((t) => seeds.has(t)));
  return { parsed, unresolved, programRoots };
}

/** The parser's own diagnostics of a file parsed outside a program. */
function parseDiagnostics(sf: ts.SourceFile): readonly ts.DiagnosticWithLocation[] {
  return (sf as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
}

function reportIndirectImport(ctx: ExtractContext, node: ts.Node, call: ResourceCall): void {
  const [, name] = call.key.split(":");
  const expected = encoreModuleOf(call.key);
  ctx.report(
    "resource-import",
    node,
    `Encore's parser only recognises \`${name}\` imported by name from "${expected}" (\`import { ${name} } from "${expected}"\`); this call goes through ${ts.isIdentifier(call.root) ? "another module" : "a namespace or property"}, so Encore would not see it`,
  );
}

// ─── Services ───────────────────────────────────────────────────────────────────────────────

/** Finds `export default new Service("name")` in every encore.service.ts; checks nesting and names. */
function discoverServices(ctx: ExtractContext, files: FileInfo[]): ServiceInfo[] {
  const services: ServiceInfo[] = [];
  for (const file of files) {
    if (!file.isServiceFile) continue;
    for (const stmt of file.sf.statements) {
      if (!ts.isExportAssignment(stmt) || stmt.isExportEquals) continue;
      let expr = stmt.expression;
      while (ts.isParenthesizedExpression(expr)) expr = expr.expression;
      if (!ts.isNewExpression(expr)) continue;
      const call = classifyResourceCall(ctx.checker, expr);
      const nameArg = expr.arguments?.[0];
      if (call?.kind !== "Service" || !nameArg || !ts.isStringLiteral(nameArg)) continue;
      const absDir = dirname(file.sf.fileName);
      const dup = services.find((s) => s.name === nameArg.text);
      if (dup) {
        ctx.report("service-duplicate", nameArg, `service ${nameArg.text} is already defined in ${dup.dir}/encore.service.ts`);
        continue;
      }
      services.push({ name: nameArg.text, dir: ctx.rel(absDir), absDir, node: expr });
      break;
    }
  }
  const inside = (child: string, parent: string) => child !== parent && (parent === ctx.appRoot ? true : child.startsWith(parent + sep));
  for (const s of services) {
    const outer = services.find((o) => inside(s.absDir, o.absDir));
    if (outer) ctx.report("service-nested", s.node, `service ${s.name} cannot be contained within service ${outer.name} (${outer.dir})`);
  }
  return services;
}

/** Resources whose directory Encore makes a service when no encore.service.ts is above them. */
const SERVICE_ROOT_KINDS = new Set<ResourceKind>([
  "api",
  "api.raw",
  "api.static",
  "api.streamIn",
  "api.streamOut",
  "api.streamInOut",
  "Subscription",
  "Gateway",
  "authHandler",
]);

/**
 * Encore's implicit services (tsparser/src/parser/service_discovery.rs): the directory of a file
 * declaring an endpoint, subscription, gateway or auth handler outside every declared service
 * becomes a service named after the directory; such a directory inside another one joins it.
 * Only declared services (encore.service.ts) may contain other services.
 */
function implicitServices(ctx: ExtractContext, files: FileInfo[], declared: ServiceInfo[]): ServiceInfo[] {
  const roots = new Map<string, ts.Node>();
  for (const file of files) {
    if (nearestService(declared, file.sf.fileName)) continue;
    const first = firstServiceRootResource(ctx, file.sf);
    if (!first) continue;
    const root = dirname(file.sf.fileName);
    if ([...roots.keys()].some((r) => root === r || root.startsWith(r + sep))) continue;
    for (const r of [...roots.keys()]) if (r.startsWith(root + sep)) roots.delete(r);
    roots.set(root, first);
  }
  const implicit: ServiceInfo[] = [];
  for (const [absDir, node] of roots) {
    const service: ServiceInfo = { name: basename(absDir), dir: ctx.rel(absDir), absDir, node };
    const inner = declared.find((d) => d.absDir.startsWith(absDir + sep));
    const twin = [...declared, ...implicit].find((d) => d.name === service.name);
    if (inner)
      ctx.report(
        "service-nested",
        node,
        `service ${inner.name} cannot be contained within service ${service.name} (${service.dir}, a service because this file declares an endpoint or subscription there)`,
      );
    else if (twin) ctx.report("service-duplicate", node, `service ${service.name} (the directory ${service.dir}) is already defined in ${twin.dir}`);
    else implicit.push(service);
  }
  return implicit;
}

function firstServiceRootResource(ctx: ExtractContext, sf: ts.SourceFile): ts.Node | undefined {
  let found: ts.Node | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const call = classifyResourceCall(ctx.checker, node);
      if (call && SERVICE_ROOT_KINDS.has(call.kind) && importedAsEncoreExpects(ctx.checker, call)) {
        found = node;
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function nearestService(services: ServiceInfo[], fileName: string): ServiceInfo | undefined {
  let best: ServiceInfo | undefined;
  for (const s of services) {
    const contains = fileName.startsWith(s.absDir + sep) || fileName.startsWith(s.absDir + "/");
    if (contains && (!best || s.absDir.length > best.absDir.length)) best = s;
  }
  return best;
}

const SERVICE_CONFIG = object({ middlewares: anyExpr });

/** Checks a `new Service(...)`: only in encore.service.ts, once, as the default export. */
function checkServiceDeclaration(ctx: ExtractContext, file: FileInfo, node: ts.NewExpression, index: number): boolean {
  if (!file.isServiceFile) {
    ctx.report("service-file", node, "service declarations are only allowed in encore.service.ts");
    return false;
  }
  if (index > 1) {
    ctx.report("service-multiple", node, "cannot have multiple service declarations in the same module");
    return false;
  }
  const bind = bindingOf(node);
  if (bind.decl) {
    ctx.report("service-default-export", bind.decl.name, 'service definitions should not be bound to a variable: `export default new Service("name")`');
    return false;
  }
  if (!bind.defaultExport) {
    ctx.report("service-default-export", node, 'the service must be the default export: `export default new Service("name")`');
    return false;
  }
  const nameArg = node.arguments?.[0];
  if (!nameArg || !ts.isStringLiteral(nameArg)) {
    ctx.report("resource-name-literal", nameArg ?? node, "the service name must be a string literal");
    return false;
  }
  const cfg = node.arguments?.[1];
  if (cfg) {
    try {
      SERVICE_CONFIG(cfg);
    } catch (e) {
      if (!(e instanceof LiteralError)) throw e;
      ctx.report("resource-config-literal", e.node, e.message);
      return false;
    }
  }
  return true;
}

function dedupeSecrets(secrets: SecretManifest[]): SecretManifest[] {
  const seen = new Set<string>();
  return secrets
    .filter((s) => {
      const key = `${s.service}\0${s.name}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => (a.service ?? "").localeCompare(b.service ?? "") || a.name.localeCompare(b.name));
}
