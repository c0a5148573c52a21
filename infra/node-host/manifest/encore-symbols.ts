/**
 * Recognises Encore resource constructors by what the callee *is* (its symbol, resolved through
 * imports to a declaration inside the encore.dev package), not by its name. Also answers whether
 * Encore's own parser would see the call: it only tracks names imported with a named import from
 * the exact module (`import { api } from "encore.dev/api"`), not namespace imports or re-exports.
 */

import ts from "typescript";

export type ResourceKind =
  | "api"
  | "api.raw"
  | "api.static"
  | "api.streamIn"
  | "api.streamOut"
  | "api.streamInOut"
  | "Topic"
  | "Subscription"
  | "CronJob"
  | "SQLDatabase"
  | "SQLDatabase.named"
  | "secret"
  | "authHandler"
  | "Gateway"
  | "Service"
  | "Metric";

/** `<file under encore.dev without extension>:<export name>` → the module users import it from. */
const TRACKED: Record<string, { module: string; call: boolean; kind?: ResourceKind }> = {
  "api/mod:api": { module: "encore.dev/api", call: true, kind: "api" },
  "api/gateway:Gateway": { module: "encore.dev/api", call: false, kind: "Gateway" },
  "pubsub/topic:Topic": { module: "encore.dev/pubsub", call: false, kind: "Topic" },
  "pubsub/subscription:Subscription": { module: "encore.dev/pubsub", call: false, kind: "Subscription" },
  "cron/mod:CronJob": { module: "encore.dev/cron", call: false, kind: "CronJob" },
  "storage/sqldb/database:SQLDatabase": { module: "encore.dev/storage/sqldb", call: false, kind: "SQLDatabase" },
  "config/secrets:secret": { module: "encore.dev/config", call: true, kind: "secret" },
  "auth/mod:authHandler": { module: "encore.dev/auth", call: true, kind: "authHandler" },
  "service/mod:Service": { module: "encore.dev/service", call: false, kind: "Service" },
  "metrics/mod:Counter": { module: "encore.dev/metrics", call: false, kind: "Metric" },
  "metrics/mod:CounterGroup": { module: "encore.dev/metrics", call: false, kind: "Metric" },
  "metrics/mod:Gauge": { module: "encore.dev/metrics", call: false, kind: "Metric" },
  "metrics/mod:GaugeGroup": { module: "encore.dev/metrics", call: false, kind: "Metric" },
};

const API_MEMBERS = new Set(["raw", "static", "streamIn", "streamOut", "streamInOut"]);

const ENCORE_FILE = /[/\\]node_modules[/\\]encore\.dev[/\\](.+?)\.(?:d\.ts|ts|js|mjs|cjs)$/;

/** Resolves an expression's symbol through import aliases. */
export function resolveSymbol(checker: ts.TypeChecker, node: ts.Node): ts.Symbol | undefined {
  let sym = checker.getSymbolAtLocation(node);
  if (sym && sym.flags & ts.SymbolFlags.Alias) {
    try {
      sym = checker.getAliasedSymbol(sym);
    } catch {
      return undefined;
    }
  }
  return sym;
}

/** `api/mod:api` for the encore.dev export a symbol is declared as, if it is one. */
export function encoreKey(sym: ts.Symbol | undefined): string | undefined {
  const decl = sym?.declarations?.[0];
  if (!sym || !decl) return undefined;
  const m = ENCORE_FILE.exec(decl.getSourceFile().fileName);
  return m ? `${m[1].replace(/\\/g, "/")}:${sym.name}` : undefined;
}

/** The encore.dev module a tracked export is imported from, e.g. `encore.dev/api` for `api/mod:api`. */
export function encoreModuleOf(key: string): string | undefined {
  return TRACKED[key]?.module;
}

export interface ResourceCall {
  kind: ResourceKind;
  /** The encore.dev export key of the root callee (e.g. `api/mod:api` for `api.raw`). */
  key: string;
  /** The identifier the call starts from (`api` in `api.raw(...)`), for the import check. */
  root: ts.Expression;
}

/** Classifies a call or `new` expression as an Encore resource, or returns undefined. */
export function classifyResourceCall(checker: ts.TypeChecker, node: ts.CallExpression | ts.NewExpression): ResourceCall | undefined {
  const callee = node.expression;
  const isNew = ts.isNewExpression(node);
  const keyOf = (e: ts.Expression) => encoreKey(resolveSymbol(checker, ts.isPropertyAccessExpression(e) ? e.name : e));

  if (ts.isIdentifier(callee) || ts.isPropertyAccessExpression(callee)) {
    // `api.raw(...)`, `SQLDatabase.named(...)`, and the same through a namespace (`e.api.raw`).
    if (!isNew && ts.isPropertyAccessExpression(callee) && (API_MEMBERS.has(callee.name.text) || callee.name.text === "named")) {
      const objKey = keyOf(callee.expression);
      if (objKey === "api/mod:api" && API_MEMBERS.has(callee.name.text)) {
        return { kind: `api.${callee.name.text}` as ResourceKind, key: objKey, root: callee.expression };
      }
      if (objKey === "storage/sqldb/database:SQLDatabase" && callee.name.text === "named") {
        return { kind: "SQLDatabase.named", key: objKey, root: callee.expression };
      }
    }
    const key = keyOf(callee);
    const tracked = key ? TRACKED[key] : undefined;
    if (key && tracked?.kind && tracked.call === !isNew) return { kind: tracked.kind, key, root: callee };
  }
  return undefined;
}

/**
 * Whether Encore's parser would recognise the call: its root is an identifier bound by a named
 * import of the tracked export from the exact module.
 */
export function importedAsEncoreExpects(checker: ts.TypeChecker, call: ResourceCall): boolean {
  if (!ts.isIdentifier(call.root)) return false;
  const local = checker.getSymbolAtLocation(call.root);
  const spec = local?.declarations?.find(ts.isImportSpecifier);
  if (!spec) return false;
  const decl = spec.parent.parent.parent;
  if (!ts.isImportDeclaration(decl) || !ts.isStringLiteral(decl.moduleSpecifier)) return false;
  const exportName = call.key.split(":")[1];
  const imported = (spec.propertyName ?? spec.name).text;
  return decl.moduleSpecifier.text === encoreModuleOf(call.key) && imported === exportName;
}
