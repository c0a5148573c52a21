/**
 * Turns TypeScript types into wire schemas (TypeSchema), with Encore's rules: where each request
 * field travels (`Header<>`, `Query<>`, `Cookie<>`, path parameters, body), what a request or
 * response type may be, and which types a schema cannot hold. Recursive named types become
 * entries of `manifest.types`, referenced with `{k: "ref"}`.
 *
 * `Header<>`/`Query<>`/`Cookie<>` are conditional type aliases that resolve to plain types, so the
 * resolved type forgets them; they are read from the property's declared type node instead.
 */

import ts from "typescript";
import { encoreKey, resolveSymbol } from "./encore-symbols.ts";
import type { FieldLocation, FieldSchema, TypeSchema } from "./types.ts";

export type WireKind = "header" | "query" | "cookie" | "httpStatus";

export interface WireSpec {
  kind: WireKind;
  /** The name given as a string literal type argument (`Header<"X-Request-Id">`). */
  name?: string;
  /** The value type node (`Query<number>` → `number`); absent means string (or number for HttpStatus). */
  valueType?: ts.TypeNode;
}

const WIRE_KEYS: Record<string, WireKind> = {
  "api/mod:Header": "header",
  "api/mod:Query": "query",
  "api/mod:Cookie": "cookie",
  "api/mod:HttpStatus": "httpStatus",
};

/** A field of a request/response/auth-params type, with its wire placement. */
export interface WireField {
  field: FieldSchema;
  wire?: WireSpec;
  /** The property's declaration, for diagnostics. */
  decl?: ts.Node;
  /** The resolved property type (undefined stripped), for the path/query type checks. */
  type: ts.Type;
}

export interface TopLevel {
  schema: TypeSchema;
  fields: WireField[];
}

const MAX_DEPTH = 48;

export class SchemaBuilder {
  /** Named types referenced by `{k: "ref"}`. */
  readonly types: Record<string, TypeSchema> = {};
  /** Problems found during the last conversion (unsupported types), as `path: message`. */
  issues: string[] = [];

  private readonly names = new Map<ts.Type, string>();
  private readonly usedNames = new Set<string>();
  private readonly stack = new Set<ts.Type>();
  private readonly recursive = new Set<ts.Type>();

  constructor(
    private readonly checker: ts.TypeChecker,
    private readonly program: ts.Program,
  ) {}

  /** The type a type node denotes. */
  typeOf(node: ts.TypeNode): ts.Type {
    return this.checker.getTypeFromTypeNode(node);
  }

  /** `Promise<T>` → `T` (also for PromiseLike and other thenables). */
  awaited(type: ts.Type): ts.Type {
    return this.checker.getAwaitedType(type) ?? type;
  }

  isVoid(type: ts.Type): boolean {
    return (type.flags & (ts.TypeFlags.Void | ts.TypeFlags.Undefined | ts.TypeFlags.Never)) !== 0;
  }

  /** True for an object type with no properties and no index signature (`{}`), which Encore drops. */
  isEmptyObject(type: ts.Type): boolean {
    return (
      (type.flags & ts.TypeFlags.Object) !== 0 &&
      !this.checker.isArrayType(type) &&
      this.checker.getPropertiesOfType(type).length === 0 &&
      this.checker.getIndexInfosOfType(type).length === 0 &&
      type.getCallSignatures().length === 0
    );
  }

  /**
   * Why a type cannot be a request/response/params type, or undefined when it can: it must be an
   * object type (interface, type literal, intersection of them) without index signatures or call
   * signatures.
   */
  topLevelProblem(type: ts.Type): string | undefined {
    const t = this.stripBrands(type);
    const shown = this.checker.typeToString(type);
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return `\`${shown}\` is not an interface`;
    if (t.isUnion()) return `\`${shown}\` is a union; request and response types must be interfaces`;
    if (!(t.flags & ts.TypeFlags.Object) && !t.isIntersection()) return `\`${shown}\` is not an interface`;
    if (this.isDate(t)) return "`Date` is not an interface";
    if (this.checker.isArrayType(t) || this.checker.isTupleType(t)) return `\`${shown}\` is an array; wrap it in an interface field`;
    if (t.isIntersection() && t.types.some((m) => !(m.flags & ts.TypeFlags.Object))) {
      return `\`${shown}\` is not an interface`;
    }
    if (this.checker.getIndexInfosOfType(t).length > 0) return `\`${shown}\` has an index signature, which is not supported in schema types`;
    if (t.getCallSignatures().length > 0) return `\`${shown}\` has call signatures, which are not supported in schema types`;
    return undefined;
  }

  /**
   * Converts a top-level request/response/auth-params type into an object schema whose fields carry
   * their wire location. `pathParams` are the names of the path's dynamic segments.
   */
  topLevel(type: ts.Type, pathParams: ReadonlySet<string>, side: "request" | "response"): TopLevel {
    this.issues = [];
    const t = this.stripBrands(type);
    this.stack.add(t);
    const fields: WireField[] = [];
    for (const prop of this.checker.getPropertiesOfType(t)) {
      if (isSymbolKeyed(prop)) continue;
      const decl = prop.valueDeclaration ?? prop.declarations?.[0];
      const wire = decl ? this.wireSpecOf(decl) : undefined;
      const { type: propType, optional } = this.propertyType(prop, decl);
      let loc: FieldLocation = "body";
      let wireName = prop.name;
      let schema: TypeSchema;
      if (side === "request" && pathParams.has(prop.name)) {
        loc = "path";
        schema = this.convert(wire?.valueType ? this.typeOf(wire.valueType) : propType, prop.name, 0);
      } else if (wire && wire.kind !== "httpStatus") {
        loc = wire.kind;
        wireName = wire.name ?? prop.name;
        schema = wire.valueType ? this.convert(this.stripUndefined(this.typeOf(wire.valueType)), prop.name, 0) : { k: "string" };
      } else if (wire?.kind === "httpStatus") {
        schema = { k: "number" };
      } else {
        schema = this.convert(propType, prop.name, 0);
      }
      fields.push({ field: { name: prop.name, wire: wireName, loc, optional, type: schema }, wire, decl, type: propType });
    }
    this.stack.delete(t);
    const schema: TypeSchema = { k: "object", fields: fields.map((f) => f.field) };
    const name = this.recursive.has(t) ? this.nameFor(t) : undefined;
    if (name && !this.types[name]) {
      // The type refers to itself: its nested form (every field in the body) is a named type too.
      const saved = this.issues;
      this.types[name] = { k: "object", fields: fields.map((f) => ({ ...f.field, loc: "body", wire: f.field.name })) };
      this.issues = saved;
    }
    return { schema, fields };
  }

  /** A property's type with `undefined` removed, and whether it is optional (`?` or `| undefined`). */
  propertyType(prop: ts.Symbol, decl: ts.Node | undefined): { type: ts.Type; optional: boolean } {
    const raw = decl ? this.checker.getTypeOfSymbolAtLocation(prop, decl) : this.checker.getTypeOfSymbol(prop);
    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0 || hasUndefined(raw);
    return { type: this.stripUndefined(raw), optional };
  }

  /** Reads `Header<>`/`Query<>`/`Cookie<>`/`HttpStatus` from a property's declared type node. */
  wireSpecOf(decl: ts.Node): WireSpec | undefined {
    if (!ts.isPropertySignature(decl) && !ts.isPropertyDeclaration(decl)) return undefined;
    return decl.type ? this.wireSpecOfNode(decl.type, 0) : undefined;
  }

  private wireSpecOfNode(node: ts.TypeNode, depth: number): WireSpec | undefined {
    if (depth > 8) return undefined;
    if (ts.isParenthesizedTypeNode(node)) return this.wireSpecOfNode(node.type, depth + 1);
    if (ts.isIntersectionTypeNode(node) || ts.isUnionTypeNode(node)) {
      for (const member of node.types) {
        const spec = this.wireSpecOfNode(member, depth + 1);
        if (spec) return spec;
      }
      return undefined;
    }
    if (!ts.isTypeReferenceNode(node)) return undefined;
    const sym = resolveSymbol(this.checker, node.typeName);
    const kind = WIRE_KEYS[encoreKey(sym) ?? ""];
    if (kind) {
      const args = node.typeArguments ?? [];
      const literalName = (n: ts.TypeNode | undefined) => (n && ts.isLiteralTypeNode(n) && ts.isStringLiteral(n.literal) ? n.literal.text : undefined);
      if (kind === "httpStatus") return { kind };
      if (args.length === 0) return { kind };
      if (args.length === 1) {
        const name = literalName(args[0]);
        return name !== undefined ? { kind, name } : { kind, valueType: args[0] };
      }
      return { kind, valueType: args[0], name: literalName(args[1]) };
    }
    // A local alias of a wire type: `type RequestId = Header<"X-Request-Id">`.
    const aliasDecl = sym?.declarations?.find(ts.isTypeAliasDeclaration);
    if (aliasDecl && !aliasDecl.typeParameters) return this.wireSpecOfNode(aliasDecl.type, depth + 1);
    return undefined;
  }

  /** Converts a type into a schema (nested form: object fields are all `body`). */
  convert(type: ts.Type, path: string, depth: number): TypeSchema {
    if (depth > MAX_DEPTH) return { k: "any" };
    const t = this.stripBrands(type);
    const f = t.flags;
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return { k: "any" };
    if (f & ts.TypeFlags.Boolean) return { k: "boolean" };
    if (f & ts.TypeFlags.BooleanLiteral) return { k: "literal", v: (t as { intrinsicName?: string }).intrinsicName === "true" };
    if (t.isStringLiteral()) return { k: "literal", v: t.value };
    if (t.isNumberLiteral()) return { k: "literal", v: t.value };
    if (f & (ts.TypeFlags.String | ts.TypeFlags.TemplateLiteral | ts.TypeFlags.StringMapping)) return { k: "string" };
    if (f & (ts.TypeFlags.Number | ts.TypeFlags.BigInt | ts.TypeFlags.BigIntLiteral)) return { k: "number" };
    if (f & ts.TypeFlags.Null) return { k: "null" };
    if (f & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) return this.unsupported(path, "`undefined` outside an optional field");
    if (f & (ts.TypeFlags.ESSymbol | ts.TypeFlags.UniqueESSymbol)) return this.unsupported(path, "symbol types are not supported");
    if (f & ts.TypeFlags.Never) return this.unsupported(path, "`never` is not supported");
    if (f & ts.TypeFlags.NonPrimitive) return this.unsupported(path, "`object` is not supported; use an interface");
    if (f & ts.TypeFlags.TypeParameter) return this.unsupported(path, "unresolved type parameters are not supported");
    if (t.isUnion()) return this.guarded(t, () => this.union(t, path, depth));
    if (this.isDate(t)) return { k: "date" };
    if (this.isDecimal(t)) return { k: "string" };
    if (this.checker.isArrayType(t)) {
      const [elem] = this.checker.getTypeArguments(t as ts.TypeReference);
      return { k: "array", e: elem ? this.convert(this.stripUndefined(elem), `${path}[]`, depth + 1) : { k: "any" } };
    }
    if (this.checker.isTupleType(t)) {
      this.issues.push(`${path}: tuple types are not supported`);
      const elems = this.checker.getTypeArguments(t as ts.TypeReference);
      return { k: "array", e: this.unionOf(elems.map((e, i) => this.convert(e, `${path}[${i}]`, depth + 1))) };
    }
    if (f & ts.TypeFlags.Object || t.isIntersection()) return this.guarded(t, () => this.object(t, path, depth));
    return this.unsupported(path, `\`${this.checker.typeToString(t)}\` is not supported`);
  }

  private unsupported(path: string, message: string): TypeSchema {
    this.issues.push(`${path}: ${message}`);
    return { k: "any" };
  }

  /**
   * Converts an object or union type, through `ref` when the type contains itself: the first
   * occurrence found again while it is being converted becomes a named entry of `types`.
   */
  private guarded(t: ts.Type, convert: () => TypeSchema): TypeSchema {
    if (this.stack.has(t)) {
      this.recursive.add(t);
      return { k: "ref", name: this.nameFor(t) };
    }
    this.stack.add(t);
    const schema = convert();
    this.stack.delete(t);
    if (this.recursive.has(t)) {
      const name = this.nameFor(t);
      this.types[name] = schema;
      return { k: "ref", name };
    }
    return schema;
  }

  private object(t: ts.Type, path: string, depth: number): TypeSchema {
    if (t.getCallSignatures().length > 0 || t.getConstructSignatures().length > 0) {
      return this.unsupported(path, "function types are not supported");
    }
    const sym = t.getSymbol();
    if (sym && sym.flags & ts.SymbolFlags.Class) {
      return this.unsupported(path, `class \`${sym.name}\` is not supported; use an interface`);
    }
    const fields: FieldSchema[] = [];
    for (const prop of this.checker.getPropertiesOfType(t)) {
      if (isSymbolKeyed(prop)) continue;
      const decl = prop.valueDeclaration ?? prop.declarations?.[0];
      const fieldPath = `${path}.${prop.name}`;
      if (prop.flags & ts.SymbolFlags.Method) {
        this.issues.push(`${fieldPath}: methods are not supported`);
        continue;
      }
      const { type, optional } = this.propertyType(prop, decl);
      fields.push({ name: prop.name, wire: prop.name, loc: "body", optional, type: this.convert(type, fieldPath, depth + 1) });
    }
    const schema: TypeSchema = { k: "object", fields };
    const index = this.checker.getIndexInfosOfType(t).find((i) => i.keyType.flags & (ts.TypeFlags.String | ts.TypeFlags.Number));
    if (index) {
      if (fields.length > 0) this.issues.push(`${path}: index signature with additional fields is not supported`);
      schema.index = this.convert(this.stripUndefined(index.type), `${path}[key]`, depth + 1);
    }
    return schema;
  }

  private union(t: ts.UnionType, path: string, depth: number): TypeSchema {
    const members = t.types.filter((m) => !(m.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
    const hasTrue = members.some((m) => m.flags & ts.TypeFlags.BooleanLiteral && (m as { intrinsicName?: string }).intrinsicName === "true");
    const hasFalse = members.some((m) => m.flags & ts.TypeFlags.BooleanLiteral && (m as { intrinsicName?: string }).intrinsicName === "false");
    const out: TypeSchema[] = [];
    let boolDone = false;
    for (const m of members) {
      if (hasTrue && hasFalse && m.flags & ts.TypeFlags.BooleanLiteral) {
        if (!boolDone) out.push({ k: "boolean" });
        boolDone = true;
        continue;
      }
      out.push(this.convert(m, path, depth + 1));
    }
    return this.unionOf(out);
  }

  private unionOf(schemas: TypeSchema[]): TypeSchema {
    const seen = new Set<string>();
    const unique = schemas.filter((s) => {
      const key = JSON.stringify(s);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (unique.length === 0) return { k: "any" };
    return unique.length === 1 ? unique[0] : { k: "union", u: unique };
  }

  /**
   * `T | undefined` → `T` when one member remains; wider unions keep their `undefined` member
   * (the checker cannot build a new union through the public API), which `convert` skips.
   */
  stripUndefined(type: ts.Type): ts.Type {
    if (!type.isUnion()) return type;
    const kept = type.types.filter((m) => !(m.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
    return kept.length === 1 ? kept[0] : type;
  }

  /**
   * Drops encore.dev/validate brands (`number & Min<1>` → `number`) and primitive brands
   * (`string & { __brand: "Id" }` → `string`) from intersections.
   */
  stripBrands(type: ts.Type): ts.Type {
    if (!type.isIntersection()) return type;
    const kept = type.types.filter((m) => !this.isValidationBrand(m));
    const primitive = kept.find((m) => !(m.flags & ts.TypeFlags.Object));
    if (primitive) return primitive;
    return kept.length === 1 ? kept[0] : type;
  }

  private isValidationBrand(t: ts.Type): boolean {
    if (!(t.flags & ts.TypeFlags.Object)) return false;
    const props = this.checker.getPropertiesOfType(t);
    return props.length > 0 && props.every((p) => isSymbolKeyed(p));
  }

  /** A type as TypeScript writes it (for messages). */
  show(type: ts.Type): string {
    return this.checker.typeToString(type);
  }

  private isDate(t: ts.Type): boolean {
    const sym = t.getSymbol();
    const decl = sym?.declarations?.[0];
    return sym?.name === "Date" && !!decl && this.program.isSourceFileDefaultLibrary(decl.getSourceFile());
  }

  private isDecimal(t: ts.Type): boolean {
    return encoreKey(t.getSymbol()) === "types/mod:Decimal";
  }

  /** A stable, unique name for a named type (its alias or interface name). */
  private nameFor(t: ts.Type): string {
    const known = this.names.get(t);
    if (known) return known;
    const sym = t.getSymbol();
    const generic =
      (t.aliasTypeArguments?.length ?? 0) > 0 || (t.flags & ts.TypeFlags.Object && (this.checker.getTypeArguments(t as ts.TypeReference)?.length ?? 0) > 0);
    const base = generic ? this.checker.typeToString(t) : (t.aliasSymbol?.name ?? (sym && !sym.name.startsWith("__") ? sym.name : "Anonymous"));
    let name = base;
    for (let i = 2; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    this.names.set(t, name);
    return name;
  }
}

function hasUndefined(type: ts.Type): boolean {
  return type.isUnion() && type.types.some((m) => m.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void));
}

/** Symbol-keyed properties (`[__validate]`) have internal names starting with `__@`. */
function isSymbolKeyed(prop: ts.Symbol): boolean {
  return prop.escapedName.toString().startsWith("__@");
}

/**
 * Whether a type can travel in a query string or path: basic types, literals, enums, Date, and
 * arrays/unions of them (query only for arrays).
 */
export function isQueryCompatible(checker: ts.TypeChecker, builder: SchemaBuilder, type: ts.Type, allowArray = true): boolean {
  const t = builder.stripBrands(builder.stripUndefined(type));
  const f = t.flags;
  const basic =
    ts.TypeFlags.String |
    ts.TypeFlags.Number |
    ts.TypeFlags.Boolean |
    ts.TypeFlags.BigInt |
    ts.TypeFlags.StringLiteral |
    ts.TypeFlags.NumberLiteral |
    ts.TypeFlags.BooleanLiteral |
    ts.TypeFlags.BigIntLiteral |
    ts.TypeFlags.EnumLiteral |
    ts.TypeFlags.Enum |
    ts.TypeFlags.TemplateLiteral |
    ts.TypeFlags.Any |
    ts.TypeFlags.Unknown |
    ts.TypeFlags.Null |
    ts.TypeFlags.Undefined;
  if (f & basic && !t.isUnion()) return true;
  if (t.isUnion()) return t.types.every((m) => isQueryCompatible(checker, builder, m, allowArray));
  if (t.getSymbol()?.name === "Date") return true;
  if (allowArray && checker.isArrayType(t)) {
    const [elem] = checker.getTypeArguments(t as ts.TypeReference);
    return !!elem && isQueryCompatible(checker, builder, elem, false);
  }
  return false;
}

/** Whether a type is a valid path parameter type: string, number or boolean. */
export function isPathParamType(builder: SchemaBuilder, type: ts.Type): boolean {
  const t = builder.stripBrands(type);
  if (t.flags & ts.TypeFlags.Boolean) return true;
  return (t.flags & (ts.TypeFlags.String | ts.TypeFlags.Number | ts.TypeFlags.BigInt)) !== 0 && !t.isUnion();
}
