/**
 * Reads resource configuration the way Encore's parser does: statically, from the syntax. A config
 * is an object literal whose keys are known and whose values are literals of the expected kind —
 * no variables, spreads, shorthand properties, template strings or `as const`. The first problem
 * found is returned with the node to point at.
 */

import { posix } from "node:path";
import ts from "typescript";
import { DURATION_GRAMMAR, tryParseDuration } from "../../../lib/duration.ts";

export class LiteralError extends Error {
  constructor(
    readonly node: ts.Node,
    message: string,
  ) {
    super(message);
  }
}

/** Parses one value; throws LiteralError. */
export type ValueParser<T> = (expr: ts.Expression) => T;

export interface Parsed<T> {
  value: T;
  node: ts.Expression;
}

export function describeNode(expr: ts.Node): string {
  if (ts.isIdentifier(expr)) return `the identifier \`${expr.text}\``;
  if (ts.isNoSubstitutionTemplateLiteral(expr) || ts.isTemplateExpression(expr)) return "a template string";
  if (ts.isAsExpression(expr) || ts.isSatisfiesExpression(expr)) return "a type assertion";
  if (ts.isParenthesizedExpression(expr)) return "a parenthesized expression";
  if (ts.isCallExpression(expr)) return "a function call";
  if (ts.isPropertyAccessExpression(expr)) return `\`${expr.getText()}\``;
  return `\`${expr.getText().slice(0, 40)}\``;
}

export const str: ValueParser<string> = (expr) => {
  if (ts.isStringLiteral(expr)) return expr.text;
  throw new LiteralError(expr, `expected a string literal, got ${describeNode(expr)}`);
};

export const bool: ValueParser<boolean> = (expr) => {
  if (expr.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (expr.kind === ts.SyntaxKind.FalseKeyword) return false;
  throw new LiteralError(expr, `expected a boolean literal, got ${describeNode(expr)}`);
};

/** An integer constant: literals and + - * / % of them (division must be exact), as Encore allows. */
export const int: ValueParser<number> = (expr) => {
  if (ts.isNumericLiteral(expr)) {
    const v = Number(expr.text.replace(/_/g, ""));
    if (!Number.isInteger(v)) throw new LiteralError(expr, "expected an integer literal");
    return v;
  }
  if (ts.isPrefixUnaryExpression(expr)) {
    if (expr.operator === ts.SyntaxKind.MinusToken) return -int(expr.operand);
    if (expr.operator === ts.SyntaxKind.PlusToken) return int(expr.operand);
  }
  if (ts.isBinaryExpression(expr)) {
    const x = int(expr.left);
    const y = int(expr.right);
    switch (expr.operatorToken.kind) {
      case ts.SyntaxKind.PlusToken:
        return x + y;
      case ts.SyntaxKind.MinusToken:
        return x - y;
      case ts.SyntaxKind.AsteriskToken:
        return x * y;
      case ts.SyntaxKind.PercentToken:
        return x % y;
      case ts.SyntaxKind.SlashToken:
        if (y === 0 || x % y !== 0) throw new LiteralError(expr, "expected integer division");
        return x / y;
    }
  }
  throw new LiteralError(expr, `expected an integer literal, got ${describeNode(expr)}`);
};

export const uint: ValueParser<number> = (expr) => {
  const v = int(expr);
  if (v < 0) throw new LiteralError(expr, "expected an unsigned integer literal");
  return v;
};

export function nullable<T>(p: ValueParser<T>): ValueParser<T | null> {
  return (expr) => (expr.kind === ts.SyntaxKind.NullKeyword ? null : p(expr));
}

export function arrayOf<T>(p: ValueParser<T>): ValueParser<T[]> {
  return (expr) => {
    if (!ts.isArrayLiteralExpression(expr)) {
      throw new LiteralError(expr, `expected an array literal, got ${describeNode(expr)}`);
    }
    return expr.elements.map((e) => {
      if (ts.isSpreadElement(e) || ts.isOmittedExpression(e)) throw new LiteralError(e, "expected an array element");
      return p(e);
    });
  };
}

/** Any expression, kept as-is (handlers, endpoint references). */
export const anyExpr: ValueParser<ts.Expression> = (expr) => expr;

/** A local relative path: no `..`, not absolute. Returned normalised, posix. */
export const localRelPath: ValueParser<string> = (expr) => {
  const p = str(expr);
  const norm = posix.normalize(p.replace(/\\/g, "/"));
  if (p === "" || posix.isAbsolute(norm) || norm === ".." || norm.startsWith("../")) {
    throw new LiteralError(expr, `expected a local relative path, got "${p}"`);
  }
  return norm;
};

export type Spec = Record<string, ValueParser<unknown>>;
export type ParsedObject<S extends Spec> = { [K in keyof S]?: Parsed<ReturnType<S[K]>> };

/**
 * Parses an object literal against a spec of known keys. Unknown keys, duplicates, spreads,
 * shorthand and computed properties are errors, as in Encore's parser.
 */
export function object<S extends Spec>(spec: S): ValueParser<ParsedObject<S>> {
  return (expr) => {
    if (!ts.isObjectLiteralExpression(expr)) {
      throw new LiteralError(expr, `expected an object literal, got ${describeNode(expr)}`);
    }
    const out: Record<string, Parsed<unknown>> = {};
    for (const prop of expr.properties) {
      if (ts.isSpreadAssignment(prop)) throw new LiteralError(prop, "spread operator unsupported");
      if (ts.isShorthandPropertyAssignment(prop)) {
        throw new LiteralError(prop, `shorthand property \`${prop.name.text}\` unsupported: write \`${prop.name.text}: ${prop.name.text}\``);
      }
      if (!ts.isPropertyAssignment(prop)) throw new LiteralError(prop, "methods and accessors are unsupported");
      const key = ts.isIdentifier(prop.name) || ts.isStringLiteral(prop.name) ? prop.name.text : undefined;
      if (key === undefined) throw new LiteralError(prop.name, "computed or numeric property names are unsupported");
      const parse = Object.hasOwn(spec, key) ? spec[key] : undefined;
      if (!parse) throw new LiteralError(prop.name, `unexpected field \`${key}\` (known: ${Object.keys(spec).join(", ")})`);
      if (out[key]) throw new LiteralError(prop, `field \`${key}\` set twice`);
      out[key] = { value: parse(prop.initializer), node: prop.initializer };
    }
    return out as ParsedObject<S>;
  };
}

/** A map of string keys to a string or an array of strings (static asset headers). */
export const headersMap: ValueParser<Record<string, string[]>> = (expr) => {
  if (!ts.isObjectLiteralExpression(expr)) throw new LiteralError(expr, "headers must be an object");
  const out: Record<string, string[]> = {};
  for (const prop of expr.properties) {
    if (!ts.isPropertyAssignment(prop)) continue;
    if (!ts.isIdentifier(prop.name) && !ts.isStringLiteral(prop.name)) continue;
    const v = prop.initializer;
    out[prop.name.text] = ts.isArrayLiteralExpression(v) ? arrayOf(str)(v) : [str(v)];
  }
  return out;
};

export const duration: ValueParser<number> = (expr) => {
  const text = str(expr);
  // Encore's grammar: tsparser/litparser/src/lib.rs (the duration-string crate).
  const ms = tryParseDuration(text);
  if (ms === undefined) throw new LiteralError(expr, `invalid duration "${text}": Encore expects ${DURATION_GRAMMAR}`);
  return ms;
};
