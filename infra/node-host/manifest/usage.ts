/**
 * Encore's usage rules: after finding resources, Encore's parser looks at every place a module
 * uses a topic or a service client it declares or imports directly
 * (tsparser/src/parser/usageparser/mod.rs) and judges the use:
 *
 * - a Topic may be published (`.publish(...)`), referenced (`.ref<T>()`, with a type argument), or
 *   passed to a constructor (`new Subscription(topic, ...)`); any other use (passing it to a
 *   function, storing it, reading a field) is refused (resources/infra/pubsub_topic.rs);
 * - a service client from `~encore/clients` may only have its methods called or its `Client`
 *   field read (resources/apis/service_client.rs);
 * - publishing and calling endpoints must happen inside a service, whose name Encore records as
 *   the publisher or caller (legacymeta/mod.rs, `service_for_range`).
 *
 * Uses in type positions, exports and `import` declarations are not uses, as in Encore.
 */

import ts from "typescript";
import type { ExtractContext, FileInfo } from "./context.ts";
import type { TopicRec } from "./infra.ts";

type Tracked = { kind: "topic"; name: string } | { kind: "client"; name: string };

/** How an identifier is used, as Encore's `classify_usage` sees it. */
type UsageKind =
  | { kind: "method"; method: string; call: ts.CallExpression }
  | { kind: "field"; field: string }
  | { kind: "template" }
  | { kind: "callee" }
  | { kind: "arg" }
  | { kind: "constructor-arg" }
  | { kind: "computed" }
  | { kind: "other" };

export function checkUsage(ctx: ExtractContext, files: FileInfo[], topics: TopicRec[]): void {
  const topicSymbols = new Map<ts.Symbol, TopicRec>();
  for (const t of topics) {
    const sym = t.decl && ctx.checker.getSymbolAtLocation(t.decl.name);
    if (sym) topicSymbols.set(sym, t);
  }
  for (const file of files) {
    const tracked = trackedSymbols(ctx, file.sf, topicSymbols);
    if (tracked.size === 0) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && !ignoredPosition(node)) {
        const sym = ctx.checker.getSymbolAtLocation(node);
        const what = sym && tracked.get(sym);
        if (what) judge(ctx, file, node, what, classify(node));
      }
      ts.forEachChild(node, visit);
    };
    visit(file.sf);
  }
}

/** The topics declared in or imported directly into a file, and its service clients. */
function trackedSymbols(ctx: ExtractContext, sf: ts.SourceFile, topicSymbols: Map<ts.Symbol, TopicRec>): Map<ts.Symbol, Tracked> {
  const tracked = new Map<ts.Symbol, Tracked>();
  for (const [sym, t] of topicSymbols) if (t.decl?.getSourceFile() === sf) tracked.set(sym, { kind: "topic", name: t.manifest.name });
  for (const stmt of sf.statements) {
    if (!ts.isImportDeclaration(stmt) || stmt.importClause?.isTypeOnly || !ts.isStringLiteral(stmt.moduleSpecifier)) continue;
    const named = stmt.importClause?.namedBindings;
    if (!named || !ts.isNamedImports(named)) continue;
    const fromClients = stmt.moduleSpecifier.text === "~encore/clients";
    const module = ctx.checker.getSymbolAtLocation(stmt.moduleSpecifier);
    for (const spec of named.elements) {
      if (spec.isTypeOnly) continue;
      const local = ctx.checker.getSymbolAtLocation(spec.name);
      if (!local) continue;
      if (fromClients) {
        tracked.set(local, { kind: "client", name: (spec.propertyName ?? spec.name).text });
        continue;
      }
      let target: ts.Symbol | undefined;
      try {
        target = ctx.checker.getAliasedSymbol(local);
      } catch {
        continue;
      }
      const topic = target && topicSymbols.get(target);
      // Encore follows an import only into the module that declares the topic (no re-exports).
      if (topic && module?.valueDeclaration === topic.decl?.getSourceFile()) tracked.set(local, { kind: "topic", name: topic.manifest.name });
    }
  }
  return tracked;
}

/** Declarations, import/export specifiers and type positions are not uses. */
function ignoredPosition(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isImportSpecifier(p) || ts.isImportClause(p) || ts.isNamespaceImport(p) || ts.isExportSpecifier(p)) return true;
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p)) && p.name === id) return true;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return true;
  if (ts.isPropertyAssignment(p) && p.name === id) return true;
  return ts.isTypeQueryNode(p) || ts.isPartOfTypeNode(id) || (ts.isQualifiedName(p) && ts.isPartOfTypeNode(p));
}

function classify(id: ts.Identifier): UsageKind {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.expression === id) {
    if (ts.isPrivateIdentifier(p.name)) return { kind: "computed" };
    const gp = p.parent;
    if (ts.isCallExpression(gp) && gp.expression === p) return { kind: "method", method: p.name.text, call: gp };
    if (ts.isTaggedTemplateExpression(gp) && gp.tag === p) return { kind: "template" };
    return { kind: "field", field: p.name.text };
  }
  if (ts.isElementAccessExpression(p) && p.expression === id) return { kind: "computed" };
  if (ts.isCallExpression(p)) return p.expression === id ? { kind: "callee" } : { kind: "arg" };
  if (ts.isNewExpression(p) && p.expression !== id) return { kind: "constructor-arg" };
  return { kind: "other" };
}

function judge(ctx: ExtractContext, file: FileInfo, id: ts.Identifier, what: Tracked, use: UsageKind): void {
  if (use.kind === "computed") return;
  if (what.kind === "topic") {
    if (use.kind === "method") {
      if (use.method === "ref" && !use.call.typeArguments?.length) {
        ctx.report("topic-usage", use.call, `expected a type argument in call to Topic.ref (\`${id.text}.ref<Publisher<Msg>>()\`)`);
      } else if (use.method === "publish" && !file.service) {
        ctx.report(
          "usage-outside-service",
          use.call,
          `cannot determine which service is publishing to topic "${what.name}": ${file.rel} is not inside a service directory`,
        );
      }
      return;
    }
    if (use.kind === "constructor-arg") return;
    ctx.report(
      "topic-usage",
      id,
      `invalid use of topic "${what.name}": Encore allows only \`${id.text}.publish(...)\`, \`${id.text}.ref<T>()\` and passing it to a constructor such as \`new Subscription(${id.text}, ...)\``,
    );
    return;
  }
  if (use.kind === "method") {
    if (!file.service)
      ctx.report(
        "usage-outside-service",
        use.call,
        `cannot determine which service calls ${what.name}.${use.method}: ${file.rel} is not inside a service directory`,
      );
    return;
  }
  if (use.kind === "field" && use.field === "Client") return;
  ctx.report(
    "service-client-usage",
    id,
    `invalid use of the service client \`${id.text}\`: Encore allows only method calls (\`${id.text}.endpoint(...)\`) and \`${id.text}.Client\``,
  );
}
