/**
 * A model of Encore's type resolver (tsparser/src/parser/types/type_resolve.rs), which reads the
 * type *syntax* of every request, response, auth param/data and Pub/Sub message type and knows far
 * less than `tsc`: only module-level declarations and imports, the few global types of its
 * universe (tsparser/src/parser/universe.ts), indexed access on object types with string keys,
 * no template literal types, no function type syntax, no `import("…")` types.
 *
 * `EncoreTypeResolver.check` walks a root type node and everything it reaches (type arguments,
 * fields, aliases and interfaces in other files, `extends` clauses) and reports each construct
 * Encore's resolver rejects once, with the field path that reaches it. What Encore's *schema*
 * builder rejects afterwards (tuples, classes, methods) is SchemaBuilder's job (schema.ts).
 *
 * @example
 * const resolver = new EncoreTypeResolver(ctx);
 * resolver.check(requestTypeNode, "request of svc.getItem"); // reports `type-resolver` diagnostics
 */

import ts from "typescript";
import type { ExtractContext } from "./context.ts";

/** The Encore source file behind every verdict of this module. */
export const TYPE_RESOLVER_SOURCE = "tsparser/src/parser/types/type_resolve.rs";

/**
 * The global types Encore's resolver knows (tsparser/src/parser/universe.ts). Any other global —
 * ReadonlyArray, Map, Set, Awaited, ReturnType, Uint8Array, Buffer, … — is an "unknown identifier".
 */
export const UNIVERSE = new Set(["Promise", "Partial", "Required", "Readonly", "Pick", "Record", "Exclude", "Extract", "Omit", "NonNullable", "Date", "Array"]);

/** encore.dev types the resolver special-cases instead of reading their declarations. */
const ENCORE_SPECIAL: Record<string, Set<string>> = {
  api: new Set(["Header", "Query", "Cookie", "HttpStatus"]),
  types: new Set(["Decimal"]),
  pubsub: new Set(["Attribute"]),
  validate: new Set(["Min", "Max", "MinLen", "MaxLen", "MatchesRegexp", "StartsWith", "EndsWith", "IsEmail", "IsURL"]),
};

const ENCORE_DECL_FILE = /[/\\]node_modules[/\\]encore\.dev[/\\](?:dist[/\\])?([a-z]+)[/\\]/;

/** What an indexed access `O[I]` indexes, as far as Encore's `type_index` cares. */
type Shape = "object" | "generic" | "array" | "tuple" | "union" | "class" | "primitive" | "unknown";

export class EncoreTypeResolver {
  private readonly walked = new Set<ts.Node>();
  private readonly reported = new Set<ts.Node>();
  private label = "";

  constructor(private readonly ctx: ExtractContext) {}

  /**
   * Walks `root` (labelled e.g. "request type of svc.getItem") and reports what Encore cannot
   * resolve; returns false when it reported something new.
   */
  check(root: ts.TypeNode, label: string): boolean {
    this.label = label;
    const before = this.reported.size;
    this.walk(root, "");
    return this.reported.size === before;
  }

  private problem(node: ts.Node, path: string, reason: string): void {
    if (this.reported.has(node)) return;
    this.reported.add(node);
    const text = node.getText().replace(/\s+/g, " ");
    const construct = text.length > 60 ? `${text.slice(0, 57)}...` : text;
    const where = path ? ` at \`${path.replace(/^\./, "")}\`` : "";
    this.ctx.report("type-resolver", node, `${this.label}${where}: \`${construct}\` — ${reason} (${TYPE_RESOLVER_SOURCE})`);
  }

  private walk(node: ts.TypeNode, path: string): void {
    if (ts.isParenthesizedTypeNode(node) || ts.isOptionalTypeNode(node) || ts.isNamedTupleMember(node)) return this.walk(node.type, path);
    if (ts.isTypeReferenceNode(node)) return this.reference(node, node.typeName, node.typeArguments, path);
    if (ts.isArrayTypeNode(node)) return this.walk(node.elementType, `${path}[]`);
    if (ts.isTupleTypeNode(node)) return node.elements.forEach((e, i) => this.walk(e, `${path}[${i}]`));
    if (ts.isUnionTypeNode(node) || ts.isIntersectionTypeNode(node)) return node.types.forEach((t) => this.walk(t, path));
    if (ts.isTypeLiteralNode(node)) return this.members(node.members, path);
    if (ts.isTypeOperatorNode(node)) return this.typeOperator(node, path);
    if (ts.isIndexedAccessTypeNode(node)) return this.indexedAccess(node, path);
    if (ts.isMappedTypeNode(node)) return this.mapped(node, path);
    if (ts.isConditionalTypeNode(node)) {
      for (const t of [node.checkType, node.extendsType, node.trueType, node.falseType]) this.walk(t, path);
      return;
    }
    if (ts.isTypeQueryNode(node)) return this.typeQuery(node, path);
    if (ts.isLiteralTypeNode(node)) {
      if (ts.isNoSubstitutionTemplateLiteral(node.literal)) this.problem(node, path, "template literal types are not supported; write the string literal type");
      return;
    }
    if (ts.isTemplateLiteralTypeNode(node))
      return this.problem(node, path, "template literal types are not supported; write a union of string literals, or `string`");
    if (ts.isFunctionTypeNode(node) || ts.isConstructorTypeNode(node)) {
      return this.problem(node, path, "function type syntax is not supported in types Encore reads (and functions cannot cross the wire)");
    }
    if (ts.isImportTypeNode(node)) return this.problem(node, path, "`import(...)` types are not supported; import the type by name");
    if (ts.isTypePredicateNode(node) || ts.isRestTypeNode(node)) return this.problem(node, path, "this construct is not supported");
    if (node.kind === ts.SyntaxKind.IntrinsicKeyword) return this.problem(node, path, "intrinsic types are not supported");
    if (ts.isInferTypeNode(node)) return;
    // Keywords (string, number, ...), `this`, literal types: resolved as they are.
  }

  private typeOperator(node: ts.TypeOperatorNode, path: string): void {
    this.walk(node.type, path);
    if (node.operator === ts.SyntaxKind.KeyOfKeyword && this.shape(node.type) === "class") {
      this.problem(node, path, "`keyof` a class is not supported; use an interface");
    }
  }

  private members(members: ts.NodeArray<ts.TypeElement>, path: string): void {
    for (const m of members) {
      if (ts.isPropertySignature(m)) {
        const key = memberKey(m.name);
        if (key === undefined) {
          this.problem(m.name, path, "only identifier and string literal property keys are supported");
          continue;
        }
        if (!m.type) {
          this.problem(m, `${path}.${key}`, "a property needs a type annotation");
          continue;
        }
        this.walk(m.type, `${path}.${key}`);
      } else if (ts.isIndexSignatureDeclaration(m)) {
        for (const p of m.parameters) if (p.type) this.walk(p.type, `${path}[key]`);
        this.walk(m.type, `${path}[key]`);
      } else if (ts.isMethodSignature(m)) {
        const key = memberKey(m.name);
        if (key === undefined) this.problem(m.name, path, "computed method names are not supported");
        else if (m.typeParameters) this.problem(m.typeParameters[0], `${path}.${key}`, "generic methods are not supported in object types");
        else this.signature(m, `${path}.${key}`);
      } else if (ts.isCallSignatureDeclaration(m)) {
        if (m.typeParameters) this.problem(m.typeParameters[0], path, "generic call signatures are not supported");
        else if (!m.type) this.problem(m, path, "a call signature needs an explicit return type");
        else this.signature(m, path);
      } else {
        this.problem(m, path, "constructor, getter and setter signatures are not supported in object types");
      }
    }
  }

  private signature(sig: ts.SignatureDeclarationBase, path: string): void {
    for (const p of sig.parameters) if (p.type) this.walk(p.type, `${path}()`);
    if (sig.type) this.walk(sig.type, `${path}()`);
  }

  private mapped(node: ts.MappedTypeNode, path: string): void {
    if (!node.type) return this.problem(node, path, "a mapped type needs a value type");
    if (!node.typeParameter.constraint) return this.problem(node, path, "a mapped type needs an `in` type");
    this.walk(node.typeParameter.constraint, path);
    if (node.nameType) this.walk(node.nameType, path);
    this.walk(node.type, `${path}[key]`);
  }

  private typeQuery(node: ts.TypeQueryNode, path: string): void {
    if (node.typeArguments) return this.problem(node, path, "`typeof` with type arguments is not supported");
    const decl = this.valueDeclaration(node.exprName);
    if (!decl)
      return this.problem(
        node,
        path,
        `\`${node.exprName.getText()}\` is an unknown identifier to Encore: it resolves only module-level declarations and imports`,
      );
    if (ts.isVariableDeclaration(decl) && decl.type) this.walk(decl.type, path);
  }

  private indexedAccess(node: ts.IndexedAccessTypeNode, path: string): void {
    this.walk(node.objectType, path);
    this.walk(node.indexType, path);
    const shape = this.shape(node.objectType);
    if (shape !== "object" && shape !== "generic" && shape !== "unknown") {
      const what = shape === "array" || shape === "tuple" ? "an array" : shape === "union" ? "a union" : shape === "class" ? "a class" : "a primitive";
      return this.problem(
        node,
        path,
        `indexed access on ${what} is not supported: Encore indexes only interfaces and object types, with string literal keys. Write the type out (e.g. the literal union instead of \`(typeof X)[number]\`)`,
      );
    }
    if (!this.stringKeys(node.indexType)) {
      this.problem(node.indexType, path, "only string literals (or a union of them, `string`, `number`, `keyof`) can index a type");
    }
  }

  /** Whether an index type is one Encore's `type_index` accepts on an object. */
  private stringKeys(node: ts.TypeNode): boolean {
    if (ts.isParenthesizedTypeNode(node)) return this.stringKeys(node.type);
    if (ts.isLiteralTypeNode(node)) return ts.isStringLiteral(node.literal);
    if (node.kind === ts.SyntaxKind.StringKeyword || node.kind === ts.SyntaxKind.NumberKeyword) return true;
    if (ts.isTypeOperatorNode(node)) return node.operator === ts.SyntaxKind.KeyOfKeyword;
    if (ts.isUnionTypeNode(node)) return node.types.every((t) => this.stringKeys(t));
    if (ts.isTypeReferenceNode(node)) {
      const decl = this.typeDeclaration(node.typeName);
      if (!decl || ts.isTypeParameterDeclaration(decl)) return true;
      if (ts.isTypeAliasDeclaration(decl)) return this.stringKeys(decl.type);
      return true;
    }
    return true;
  }

  /** What a type indexes as; "unknown" (accepted) where the model does not follow. */
  private shape(node: ts.TypeNode, depth = 0): Shape {
    if (depth > 16) return "unknown";
    if (ts.isParenthesizedTypeNode(node)) return this.shape(node.type, depth + 1);
    if (ts.isTypeLiteralNode(node) || ts.isMappedTypeNode(node) || ts.isIntersectionTypeNode(node)) return "object";
    if (ts.isArrayTypeNode(node)) return "array";
    if (ts.isTupleTypeNode(node)) return "tuple";
    if (ts.isUnionTypeNode(node)) return "union";
    if (ts.isTypeOperatorNode(node)) return node.operator === ts.SyntaxKind.ReadonlyKeyword ? this.shape(node.type, depth + 1) : "union";
    if (ts.isLiteralTypeNode(node) || isKeyword(node)) return node.kind === ts.SyntaxKind.AnyKeyword ? "unknown" : "primitive";
    if (ts.isTypeQueryNode(node)) {
      const decl = this.valueDeclaration(node.exprName);
      if (!decl || !ts.isVariableDeclaration(decl)) return "unknown";
      if (decl.type) return this.shape(decl.type, depth + 1);
      return initializerShape(decl.initializer);
    }
    if (ts.isTypeReferenceNode(node)) {
      const name = ts.isIdentifier(node.typeName) ? node.typeName.text : node.typeName.right.text;
      const decl = this.typeDeclaration(node.typeName);
      if (!decl) return name === "Array" ? "array" : UNIVERSE.has(name) && name !== "Date" && name !== "Promise" ? "object" : "unknown";
      if (ts.isTypeParameterDeclaration(decl)) return "generic";
      if (ts.isInterfaceDeclaration(decl)) return "object";
      if (ts.isClassDeclaration(decl)) return "class";
      if (ts.isTypeAliasDeclaration(decl)) return this.shape(decl.type, depth + 1);
    }
    return "unknown";
  }

  /** Resolves a type name as Encore does and walks what it names. */
  private reference(node: ts.Node, name: ts.EntityName, args: ts.NodeArray<ts.TypeNode> | undefined, path: string): void {
    args?.forEach((a) => this.walk(a, path));
    const local = this.checker.getSymbolAtLocation(name);
    const localDecl = local?.declarations?.[0];
    if (localDecl && ts.isTypeParameterDeclaration(localDecl)) return;
    const simple = ts.isIdentifier(name) ? name.text : name.right.text;
    const root = ts.isIdentifier(name) ? name : leftmost(name);
    const rootSym = ts.isIdentifier(name) ? local : this.checker.getSymbolAtLocation(root);
    if (!rootSym || !this.isModuleLevel(rootSym, root)) {
      if (ts.isIdentifier(name) && UNIVERSE.has(simple) && (!local || this.isGlobal(local))) return;
      return this.problem(
        node,
        path,
        `\`${root.text}\` is an unknown identifier to Encore: its resolver knows only module-level declarations, imports and the built-ins ${[...UNIVERSE].join(", ")} (tsparser/src/parser/universe.ts)`,
      );
    }
    if (ts.isQualifiedName(name)) {
      const left = this.symbolOf(name.left);
      const leftDecl = left?.declarations?.[0];
      if (!leftDecl || !(ts.isNamespaceImport(leftDecl) || ts.isModuleDeclaration(leftDecl) || ts.isSourceFile(leftDecl))) {
        const why =
          leftDecl && ts.isEnumDeclaration(leftDecl)
            ? "an enum member (`Enum.Member`) cannot be used as a type; use the enum or a literal type"
            : "a qualified name resolves only on a namespace import";
        return this.problem(node, path, why);
      }
    }
    this.declarations(this.typeDeclarations(name), node, simple, path);
  }

  /** Walks what a resolved name declares, unless it is an encore.dev type Encore special-cases. */
  private declarations(decls: ts.Declaration[], ref: ts.Node, simple: string, path: string): void {
    if (decls.length === 0) return this.problem(ref, path, `\`${simple}\` does not resolve to a declaration Encore can read`);
    const encore = ENCORE_DECL_FILE.exec(decls[0].getSourceFile().fileName);
    if (encore && ENCORE_SPECIAL[encore[1]]?.has(simple)) return;
    const types = decls.filter((d) => !ts.isVariableDeclaration(d) && !ts.isFunctionDeclaration(d));
    for (const decl of types.length > 0 ? types : decls) this.declaration(decl, ref, path);
  }

  private declaration(decl: ts.Declaration, ref: ts.Node, path: string): void {
    if (ts.isInterfaceDeclaration(decl)) {
      if (this.enter(decl)) {
        this.members(decl.members, path);
        for (const h of (decl.heritageClauses ?? []).flatMap((c) => [...c.types])) {
          if (ts.isIdentifier(h.expression)) {
            this.reference(h, h.expression, h.typeArguments, path);
          } else if (ts.isPropertyAccessExpression(h.expression) && ts.isIdentifier(h.expression.expression)) {
            h.typeArguments?.forEach((a) => this.walk(a, path));
            const sym = this.checker.getSymbolAtLocation(h.expression.name);
            const target = sym && sym.flags & ts.SymbolFlags.Alias ? this.aliased(sym) : sym;
            this.declarations(target?.declarations ?? [], h, h.expression.name.text, path);
          } else {
            this.problem(h, path, "`extends` with a non-identifier type is not supported");
          }
        }
      }
    } else if (ts.isTypeAliasDeclaration(decl)) {
      if (this.enter(decl)) this.walk(decl.type, path);
    } else if (ts.isVariableDeclaration(decl) || ts.isFunctionDeclaration(decl)) {
      this.problem(ref, path, "a value used as a type");
    } else if (ts.isModuleDeclaration(decl)) {
      this.problem(ref, path, "a namespace used as a type");
    }
    // Classes and enums resolve as named types; SchemaBuilder reports classes that reach a schema.
  }

  private enter(decl: ts.Node): boolean {
    if (this.walked.has(decl)) return false;
    this.walked.add(decl);
    return true;
  }

  private get checker(): ts.TypeChecker {
    return this.ctx.checker;
  }

  private symbolOf(name: ts.EntityName): ts.Symbol | undefined {
    const sym = this.checker.getSymbolAtLocation(name);
    return sym && sym.flags & ts.SymbolFlags.Alias && !(sym.declarations?.[0] && ts.isNamespaceImport(sym.declarations[0])) ? this.aliased(sym) : sym;
  }

  private aliased(sym: ts.Symbol): ts.Symbol | undefined {
    try {
      return this.checker.getAliasedSymbol(sym);
    } catch {
      return undefined;
    }
  }

  /** The declarations a type name resolves to, through imports and re-exports. */
  private typeDeclarations(name: ts.EntityName): ts.Declaration[] {
    let sym = this.checker.getSymbolAtLocation(name);
    if (sym && sym.flags & ts.SymbolFlags.Alias) sym = this.aliased(sym);
    return sym?.declarations ?? [];
  }

  private typeDeclaration(name: ts.EntityName): ts.Declaration | undefined {
    const local = this.checker.getSymbolAtLocation(name);
    const first = local?.declarations?.[0];
    if (first && ts.isTypeParameterDeclaration(first)) return first;
    return this.typeDeclarations(name)[0];
  }

  /** The declaration of a value named in `typeof x` (module-level or imported only, as Encore). */
  private valueDeclaration(name: ts.EntityName): ts.Declaration | undefined {
    const root = ts.isIdentifier(name) ? name : leftmost(name);
    const local = this.checker.getSymbolAtLocation(root);
    if (!local || !this.isModuleLevel(local, root)) return undefined;
    if (!ts.isIdentifier(name)) return undefined;
    const sym = local.flags & ts.SymbolFlags.Alias ? this.aliased(local) : local;
    return sym?.valueDeclaration ?? sym?.declarations?.[0];
  }

  /** Whether a name is declared at the top level of the file using it, or imported there. */
  private isModuleLevel(sym: ts.Symbol, at: ts.Node): boolean {
    const sf = at.getSourceFile();
    return (sym.declarations ?? []).some((d) => {
      if (d.getSourceFile() !== sf) return false;
      if (ts.isImportSpecifier(d) || ts.isImportClause(d) || ts.isNamespaceImport(d) || ts.isImportEqualsDeclaration(d)) return true;
      const stmt = ts.isVariableDeclaration(d) ? d.parent?.parent : d;
      return stmt?.parent === sf;
    });
  }

  private isGlobal(sym: ts.Symbol): boolean {
    return (sym.declarations ?? []).every((d) => this.ctx.program.isSourceFileDefaultLibrary(d.getSourceFile()) || d.getSourceFile().isDeclarationFile);
  }
}

/** `Promise<T>` → `T`: Encore reads a handler's result type through the promise. */
export function unwrapPromise(node: ts.TypeNode): ts.TypeNode {
  if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName) && node.typeName.text === "Promise" && node.typeArguments?.length === 1) {
    return node.typeArguments[0];
  }
  return node;
}

function memberKey(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name)) return name.text;
  return undefined;
}

function isKeyword(node: ts.TypeNode): boolean {
  return node.kind >= ts.SyntaxKind.FirstKeyword && node.kind <= ts.SyntaxKind.LastKeyword;
}

function leftmost(name: ts.QualifiedName): ts.Identifier {
  let n: ts.EntityName = name;
  while (ts.isQualifiedName(n)) n = n.left;
  return n;
}

/** The shape Encore's expression typing gives an initializer (`as const` and `satisfies` looked through). */
function initializerShape(init: ts.Expression | undefined): Shape {
  let e = init;
  while (e && (ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isParenthesizedExpression(e))) {
    if (ts.isAsExpression(e) && !ts.isConstTypeReference(e.type)) return "unknown";
    e = e.expression;
  }
  if (!e) return "unknown";
  if (ts.isArrayLiteralExpression(e)) return "array";
  if (ts.isObjectLiteralExpression(e)) return "object";
  if (ts.isStringLiteral(e) || ts.isNumericLiteral(e) || e.kind === ts.SyntaxKind.TrueKeyword || e.kind === ts.SyntaxKind.FalseKeyword) return "primitive";
  return "unknown";
}
