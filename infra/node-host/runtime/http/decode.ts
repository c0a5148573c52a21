/**
 * Request decoding driven by the manifest, as Encore does it: path parameters, query parameters
 * (for GET/HEAD/DELETE the whole request comes from the query string), `Header<>`/`Query<>`/
 * `Cookie<>` fields, and the JSON body for everything else. Strings from the URL and headers are
 * coerced to the declared number/boolean/date types; every value is checked against its type.
 * Failures are `invalid_argument` errors that name the field and say what was expected.
 */
import { APIError } from "../../encore/errors.ts";
import type { FieldSchema, TypeSchema } from "../../manifest/types.ts";

/** The parts of an HTTP request decoding reads. */
export interface RawInput {
  method: string;
  pathParams: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
}

const MAX_DEPTH = 64;
const QUERY_METHODS = new Set(["GET", "HEAD", "DELETE"]);

export class Decoder {
  constructor(private readonly types: Record<string, TypeSchema>) {}

  /** Builds the handler's params object from the request, or throws `invalid_argument`. */
  decodeRequest(schema: TypeSchema, input: RawInput): Record<string, unknown> {
    const object = this.resolve(schema);
    if (object.k !== "object") {
      throw APIError.internal(`request schema is not an object (${object.k})`);
    }
    const bodyFromQuery = QUERY_METHODS.has(input.method);
    const body = input.body;
    if (!bodyFromQuery && body !== undefined && (typeof body !== "object" || body === null || Array.isArray(body))) {
      throw APIError.invalidArgument("the request body must be a JSON object");
    }
    const out: Record<string, unknown> = {};
    for (const field of object.fields) {
      const value = this.readField(field, input, bodyFromQuery, body as Record<string, unknown> | undefined);
      if (value !== undefined) out[field.name] = value;
    }
    if (object.index && !bodyFromQuery && body) {
      const known = new Set(object.fields.map((f) => f.name));
      for (const [key, value] of Object.entries(body)) {
        if (!known.has(key)) out[key] = this.check(object.index, value, key, 1);
      }
    }
    return out;
  }

  private readField(field: FieldSchema, input: RawInput, bodyFromQuery: boolean, body: Record<string, unknown> | undefined): unknown {
    switch (field.loc) {
      case "path":
        return this.fromText(field, input.pathParams[field.wire], `path parameter "${field.wire}"`);
      case "header":
        return this.fromText(field, input.headers[field.wire.toLowerCase()], `header "${field.wire}"`);
      case "cookie":
        return this.fromText(field, readCookie(input.headers.cookie, field.wire), `cookie "${field.wire}"`);
      case "query":
        return this.fromQuery(field, input.query);
      case "body":
        if (bodyFromQuery) return this.fromQuery(field, input.query);
        return this.fromBody(field, body);
    }
  }

  private fromQuery(field: FieldSchema, query: URLSearchParams): unknown {
    const values = query.getAll(field.wire);
    const type = this.resolve(stripOptional(field.type));
    if (type.k === "array") {
      if (values.length === 0) return this.missing(field, `query parameter "${field.wire}"`);
      return values.map((v, i) => this.coerce(type.e, v, `${field.wire}[${i}]`));
    }
    return this.fromText(field, values.length ? values[values.length - 1] : undefined, `query parameter "${field.wire}"`);
  }

  private fromText(field: FieldSchema, raw: string | string[] | undefined, where: string): unknown {
    const text = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (text === undefined) return this.missing(field, where);
    return this.coerce(stripOptional(field.type), text, field.name);
  }

  private fromBody(field: FieldSchema, body: Record<string, unknown> | undefined): unknown {
    const value = body?.[field.wire];
    if (value === undefined || (value === null && field.optional && !allowsNull(field.type))) {
      return this.missing(field, `field "${field.wire}"`);
    }
    return this.check(field.type, value, field.name, 1);
  }

  private missing(field: FieldSchema, where: string): undefined {
    if (field.optional) return undefined;
    throw APIError.invalidArgument(`missing required ${where}`);
  }

  /** Converts a string from the URL or a header to the declared type. */
  private coerce(schema: TypeSchema, text: string, path: string): unknown {
    const type = this.resolve(schema);
    switch (type.k) {
      case "string":
      case "any":
        return text;
      case "number": {
        const n = text.trim() === "" ? NaN : Number(text);
        if (!Number.isFinite(n)) throw invalid(path, "a number", JSON.stringify(text));
        return n;
      }
      case "boolean":
        if (text === "true" || text === "1" || text === "") return true;
        if (text === "false" || text === "0") return false;
        throw invalid(path, "true or false", JSON.stringify(text));
      case "date": {
        const d = new Date(text);
        if (Number.isNaN(d.getTime())) throw invalid(path, "an ISO 8601 date", JSON.stringify(text));
        return d;
      }
      case "literal":
        if (String(type.v) !== text) throw invalid(path, JSON.stringify(type.v), JSON.stringify(text));
        return type.v;
      case "union": {
        for (const option of type.u) {
          try {
            return this.coerce(option, text, path);
          } catch {
            // try the next member
          }
        }
        throw invalid(path, describe(type, this.types), JSON.stringify(text));
      }
      default:
        return this.check(type, text, path, 1);
    }
  }

  /** Checks a JSON value against its type; returns it (dates parsed). */
  private check(schema: TypeSchema, value: unknown, path: string, depth: number): unknown {
    if (depth > MAX_DEPTH) throw APIError.invalidArgument(`${path}: the value is nested more than ${MAX_DEPTH} levels deep`);
    const type = this.resolve(schema);
    switch (type.k) {
      case "any":
        return value;
      case "string":
        if (typeof value !== "string") throw invalid(path, "a string", kindOf(value));
        return value;
      case "number":
        if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(path, "a number", kindOf(value));
        return value;
      case "boolean":
        if (typeof value !== "boolean") throw invalid(path, "a boolean", kindOf(value));
        return value;
      case "null":
        if (value !== null) throw invalid(path, "null", kindOf(value));
        return value;
      case "literal":
        if (value !== type.v) throw invalid(path, JSON.stringify(type.v), kindOf(value));
        return value;
      case "date": {
        const d = typeof value === "string" ? new Date(value) : undefined;
        if (!d || Number.isNaN(d.getTime())) throw invalid(path, "an ISO 8601 date string", kindOf(value));
        return d;
      }
      case "array": {
        if (!Array.isArray(value)) throw invalid(path, "an array", kindOf(value));
        // A list of strings or numbers (keys, tags) is checked without naming each item's path;
        // only a list with a wrong item goes item by item, to name it.
        const fits = PLAIN_ITEM[this.resolve(type.e).k];
        if (fits !== undefined && value.every(fits)) return value;
        return value.map((item, i) => this.check(type.e, item, `${path}[${i}]`, depth + 1));
      }
      case "object": {
        if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(path, "an object", kindOf(value));
        const input = value as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const field of type.fields) {
          const v = input[field.wire];
          if (v === undefined || (v === null && field.optional && !allowsNull(field.type))) {
            if (!field.optional) throw APIError.invalidArgument(`missing required field "${path}.${field.wire}"`);
            continue;
          }
          out[field.name] = this.check(field.type, v, `${path}.${field.wire}`, depth + 1);
        }
        if (type.index) {
          const known = new Set(type.fields.map((f) => f.wire));
          for (const [key, v] of Object.entries(input)) {
            if (!known.has(key)) out[key] = this.check(type.index, v, `${path}.${key}`, depth + 1);
          }
        }
        return out;
      }
      case "union": {
        for (const option of type.u) {
          try {
            return this.check(option, value, path, depth + 1);
          } catch (err) {
            if (!(err instanceof APIError)) throw err;
          }
        }
        throw invalid(path, describe(type, this.types), kindOf(value));
      }
      case "ref":
        throw APIError.internal(`unresolved type ${type.name}`);
    }
  }

  private resolve(schema: TypeSchema): TypeSchema {
    let current = schema;
    for (let hops = 0; current.k === "ref"; hops++) {
      const next = this.types[current.name];
      if (!next || hops > 32) throw APIError.internal(`unknown type ${current.name} in the manifest`);
      current = next;
    }
    return current;
  }
}

/** Item checks of `check` for the types whose values it returns unchanged. */
const PLAIN_ITEM: Partial<Record<TypeSchema["k"], (item: unknown) => boolean>> = {
  string: (item) => typeof item === "string",
  number: (item) => typeof item === "number" && Number.isFinite(item),
  boolean: (item) => typeof item === "boolean",
};

function invalid(path: string, expected: string, got: string): APIError {
  return APIError.invalidArgument(`invalid value for "${path}": expected ${expected}, got ${got}`);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length > 40 ? `a string` : JSON.stringify(value);
  if (typeof value === "object") return "an object";
  return typeof value === "number" || typeof value === "boolean" ? String(value) : typeof value;
}

function describe(type: TypeSchema, types: Record<string, TypeSchema>): string {
  switch (type.k) {
    case "literal":
      return JSON.stringify(type.v);
    case "union":
      return type.u.map((t) => describe(t, types)).join(" or ");
    case "ref":
      return types[type.name] ? describe(types[type.name], types) : type.name;
    case "array":
      return "an array";
    case "object":
      return "an object";
    default:
      return `a ${type.k}`;
  }
}

function stripOptional(type: TypeSchema): TypeSchema {
  if (type.k !== "union") return type;
  const rest = type.u.filter((t) => t.k !== "null");
  return rest.length === 1 ? rest[0] : { k: "union", u: rest };
}

function allowsNull(type: TypeSchema): boolean {
  return type.k === "null" || type.k === "any" || (type.k === "union" && type.u.some((t) => t.k === "null"));
}

function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  const text = Array.isArray(header) ? header.join("; ") : header;
  if (!text) return undefined;
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
