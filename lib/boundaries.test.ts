/**
 * The app's import rules, read from the source with the TypeScript parser (design.md §1, the
 * folder READMEs):
 * - a service imports another service only through its topic module (`topics.ts`) or types;
 *   everything else it shares lives in lib/ (endpoint calls go through `~encore/clients`);
 * - a topic module declares topics and message types and imports nothing that runs;
 * - lib/ imports no service module, not even a type (it is below every service).
 * A service is a top-level folder with an `encore.service.ts`, as Encore finds them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, test } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TOPIC_MODULE = "topics.ts";

const services = readdirSync(root, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(root, e.name, "encore.service.ts")))
  .map((e) => e.name)
  .sort();

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "dist" || e.name.startsWith(".") ? [] : tsFiles(full);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [full] : [];
  });
}

const rel = (file: string) => relative(root, file).split(sep).join("/");
/** The service (top-level folder) a file belongs to, or undefined outside services. */
const serviceOf = (file: string): string | undefined => services.find((s) => rel(file).startsWith(`${s}/`));

interface ImportRef {
  /** The file imported, resolved; undefined for packages and `~encore/*`. */
  target?: string;
  specifier: string;
  typeOnly: boolean;
  line: number;
}

function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) if (existsSync(candidate) && candidate.endsWith(".ts")) return candidate;
  return base;
}

/** Every static import and re-export, and every `import("...")` with a literal argument. */
function importsOf(file: string, text = readFileSync(file, "utf8")): ImportRef[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const refs: ImportRef[] = [];
  const add = (literal: ts.StringLiteral, typeOnly: boolean) =>
    refs.push({
      specifier: literal.text,
      target: resolveSpecifier(file, literal.text),
      typeOnly,
      line: source.getLineAndCharacterOfPosition(literal.getStart()).line + 1,
    });
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(node.moduleSpecifier, node.isTypeOnly || (!!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return refs;
}

/** `file`'s imports of another service that are neither its topic module nor type-only, as "file:line → target". */
function crossServiceViolations(file: string, refs = importsOf(file)): string[] {
  const own = serviceOf(file);
  return refs
    .filter((ref) => ref.target && serviceOf(ref.target) && serviceOf(ref.target) !== own)
    .filter((ref) => !ref.typeOnly && !ref.target!.endsWith(`/${TOPIC_MODULE}`))
    .map((ref) => `${rel(file)}:${ref.line} → ${rel(ref.target!)}`);
}

/** What in a topic module is not an import of encore.dev/pubsub, a type, or `export const x = new Topic(...)`. */
function topicModuleProblems(file: string, text = readFileSync(file, "utf8")): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const where = (node: ts.Node) => `${rel(file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  return source.statements.flatMap((statement) => {
    if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) return [];
    if (ts.isImportDeclaration(statement)) {
      const spec = (statement.moduleSpecifier as ts.StringLiteral).text;
      return spec === "encore.dev/pubsub" || statement.importClause?.isTypeOnly ? [] : [`${where(statement)} imports "${spec}"`];
    }
    if (ts.isExportDeclaration(statement) && statement.isTypeOnly) return [];
    if (ts.isVariableStatement(statement)) {
      const topics = statement.declarationList.declarations.every(
        (d) => d.initializer && ts.isNewExpression(d.initializer) && ts.isIdentifier(d.initializer.expression) && d.initializer.expression.text === "Topic",
      );
      return topics ? [] : [`${where(statement)} declares something other than a Topic`];
    }
    return [`${where(statement)} is neither a type nor a Topic`];
  });
}

describe("import rules", () => {
  const serviceFiles = services.flatMap((s) => tsFiles(join(root, s)));

  test("the app has its five services", () => {
    expect(services).toEqual(["cache-manager", "dashboard", "invalidation", "monitoring", "warming"]);
  });

  test("no service imports another service's modules except its topics and types", () => {
    expect(serviceFiles.flatMap((file) => crossServiceViolations(file))).toEqual([]);
  });

  test("topic modules hold only topics and their message types", () => {
    const topicModules = serviceFiles.filter((f) => f.endsWith(`/${TOPIC_MODULE}`));
    expect(topicModules.map(rel)).toEqual(["cache-manager/topics.ts", "invalidation/topics.ts"]);
    expect(topicModules.flatMap((file) => topicModuleProblems(file))).toEqual([]);
  });

  test("lib imports no service module", () => {
    const violations = tsFiles(join(root, "lib")).flatMap((file) =>
      importsOf(file)
        .filter((ref) => ref.target && serviceOf(ref.target))
        .map((ref) => `${rel(file)}:${ref.line} → ${rel(ref.target!)}`),
    );
    expect(violations).toEqual([]);
  });

  // The rule must be able to fail: run it on imports that break it and on imports it allows.
  test("the rule catches value imports of another service's modules and lets topics and types through", () => {
    const probe = join(root, "warming", "probe.ts");
    const check = (text: string) => crossServiceViolations(probe, importsOf(probe, text));
    expect(
      check(
        'import { cacheRuntime } from "../cache-manager/runtime";\nexport * from "../monitoring/alerts";\nconst m = () => import("../invalidation/audit");',
      ),
    ).toEqual(["warming/probe.ts:1 → cache-manager/runtime.ts", "warming/probe.ts:2 → monitoring/alerts.ts", "warming/probe.ts:3 → invalidation/audit.ts"]);
    expect(
      check(
        'import { invalidations } from "../invalidation/topics";\nimport type { CacheRuntime } from "../cache-manager/runtime";\nimport { type AuditRecord } from "../invalidation/audit-store";\nimport { requireRole } from "../lib/auth/access";',
      ),
    ).toEqual([]);
  });

  test("a topic module that runs code is caught", () => {
    const probe = join(root, "warming", "topics.ts");
    expect(
      topicModuleProblems(
        probe,
        'import { Topic } from "encore.dev/pubsub";\nimport { redis } from "./config";\nexport const t = new Topic<{ a: number }>("t", { deliveryGuarantee: "at-least-once" });\nredis();',
      ),
    ).toEqual(['warming/topics.ts:2 imports "./config"', "warming/topics.ts:4 is neither a type nor a Topic"]);
  });
});
