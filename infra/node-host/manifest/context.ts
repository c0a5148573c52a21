/**
 * Shared state of one extraction: the program, the diagnostics, the app's services and files,
 * and the syntax helpers every resource parser needs (where a node is, what it is bound to,
 * whether it sits inside a function).
 */

import { basename } from "node:path";
import ts from "typescript";
import { EncoreTypeResolver } from "./encore-types.ts";
import type { RuleId } from "./rules.ts";
import type { SchemaBuilder } from "./schema.ts";
import { relPath } from "./sources.ts";
import type { Diagnostic, SourcePos } from "./types.ts";

export interface ServiceInfo {
  name: string;
  /** The service directory relative to the app root ("." for the root). */
  dir: string;
  absDir: string;
  /** The `new Service(...)` expression. */
  node: ts.Node;
}

export interface FileInfo {
  sf: ts.SourceFile;
  /** Path relative to the app root, posix. */
  rel: string;
  service?: ServiceInfo;
  isServiceFile: boolean;
}

export class ExtractContext {
  readonly diagnostics: Diagnostic[] = [];
  /** Encore's type resolver, run on every type an endpoint, auth handler or topic reaches. */
  readonly types = new EncoreTypeResolver(this);

  constructor(
    readonly appRoot: string,
    readonly program: ts.Program,
    readonly checker: ts.TypeChecker,
    readonly schemas: SchemaBuilder,
  ) {}

  rel(fileName: string): string {
    return relPath(this.appRoot, fileName);
  }

  /** The 1-based position of a node's first token. */
  pos(node: ts.Node): SourcePos {
    const sf = node.getSourceFile();
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    return { file: this.rel(sf.fileName), line: line + 1, column: character + 1 };
  }

  report(rule: RuleId, at: ts.Node | SourcePos, message: string): void {
    const pos = "kind" in at ? this.pos(at) : at;
    this.diagnostics.push({ rule, message, pos });
  }
}

export function isServiceFileName(fileName: string): boolean {
  return basename(fileName) === "encore.service.ts";
}

/** Skips wrappers that do not change what an expression is bound to: `( )`, `as`, `satisfies`, `!`. */
function transparentParent(node: ts.Node): ts.Node | undefined {
  let p = node.parent;
  while (
    p &&
    (ts.isParenthesizedExpression(p) || ts.isAsExpression(p) || ts.isSatisfiesExpression(p) || ts.isNonNullExpression(p) || ts.isTypeAssertionExpression(p))
  ) {
    p = p.parent;
  }
  return p;
}

export interface Binding {
  /** The variable the expression initialises directly (`const x = expr`). */
  decl?: ts.VariableDeclaration;
  name?: string;
  exported: boolean;
  /** `export default expr`. */
  defaultExport: boolean;
}

/** What an expression is directly bound to. */
export function bindingOf(expr: ts.Expression): Binding {
  const p = transparentParent(expr);
  if (p && ts.isExportAssignment(p) && !p.isExportEquals) return { exported: true, defaultExport: true };
  if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) {
    return { decl: p, name: p.name.text, exported: isExported(p), defaultExport: false };
  }
  return { exported: false, defaultExport: false };
}

/** The nearest variable declaration the expression is part of (as Encore's bind-name search). */
export function enclosingVariable(node: ts.Node): ts.VariableDeclaration | undefined {
  for (let n: ts.Node | undefined = node.parent; n && !ts.isSourceFile(n); n = n.parent) {
    if (ts.isVariableDeclaration(n)) return ts.isIdentifier(n.name) ? n : undefined;
    if (isFunctionBoundary(n)) return undefined;
  }
  return undefined;
}

/** Whether a top-level variable is exported (`export const x` or `export { x }`). */
function isExported(decl: ts.VariableDeclaration): boolean {
  const stmt = decl.parent?.parent;
  if (stmt && ts.isVariableStatement(stmt) && stmt.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return true;
  if (!ts.isIdentifier(decl.name)) return false;
  const name = decl.name.text;
  return decl
    .getSourceFile()
    .statements.some(
      (s) =>
        ts.isExportDeclaration(s) &&
        !s.moduleSpecifier &&
        !s.isTypeOnly &&
        s.exportClause &&
        ts.isNamedExports(s.exportClause) &&
        s.exportClause.elements.some((e) => (e.propertyName ?? e.name).text === name && e.name.text === name),
    );
}

function isFunctionBoundary(n: ts.Node): boolean {
  return ts.isFunctionLike(n) || ts.isClassStaticBlockDeclaration(n);
}

/** The function (or method, accessor, static block) a node is declared in, if any. */
export function enclosingFunction(node: ts.Node): ts.Node | undefined {
  for (let n: ts.Node | undefined = node.parent; n && !ts.isSourceFile(n); n = n.parent) {
    if (isFunctionBoundary(n)) return n;
  }
  return undefined;
}

/** An inline handler: a function expression or an arrow function. */
export function isInlineFunction(node: ts.Node): node is ts.FunctionExpression | ts.ArrowFunction {
  return ts.isFunctionExpression(node) || ts.isArrowFunction(node);
}
