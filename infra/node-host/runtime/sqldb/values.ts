/**
 * How values cross between JavaScript and Postgres, the same for pg and PGlite and, where it
 * matters, the same as Encore's runtime.
 */
import pg from "pg";

type TextParser = (value: string) => unknown;

/** `[1,["2"]]` → `[1,[2]]`: applies `fn` to every leaf of a parsed Postgres array. */
function mapArray(value: unknown, fn: (leaf: unknown) => unknown): unknown {
  return Array.isArray(value) ? value.map((v) => mapArray(v, fn)) : value === null ? null : fn(value);
}

/** `timestamp` (no zone) read as UTC, as Encore does; pg would read it in the local zone. */
function parseTimestampAsUtc(value: string): unknown {
  const date = new Date(`${value.replace(" ", "T")}Z`);
  return Number.isNaN(date.getTime()) ? pgTypesParser(1114)(value) : date;
}

/** pg-types' own text parser for `oid` (takes any oid, unlike its enum-typed signature). */
function pgTypesParser(oid: number): TextParser {
  return pg.types.getTypeParser(oid, "text") as TextParser;
}

const textArray = pgTypesParser(1009);

/**
 * Where Encore's runtime and node-postgres disagree, Encore wins: int8 is a JS number (like
 * Encore, precision is lost beyond 2^53), `date` stays a `YYYY-MM-DD` string, and `timestamp`
 * is UTC. Everything else uses pg-types' parsers, for pg and PGlite alike. (`numeric` stays a
 * string here; Encore returns its own `Decimal`, which the host does not provide.)
 */
const PARSER_OVERRIDES: Record<number, TextParser> = {
  20: (v) => Number(v),
  1016: (v) => mapArray(textArray(v), (leaf) => Number(leaf)),
  1082: (v) => v,
  1182: (v) => textArray(v),
  1114: parseTimestampAsUtc,
  1115: (v) => mapArray(textArray(v), (leaf) => parseTimestampAsUtc(String(leaf))),
  1700: (v) => v,
};

/** The types pg-types knows (see pg-types/lib/textParsers.js), handed to PGlite as well. */
const PG_TYPES_OIDS = [
  16, 17, 20, 21, 23, 26, 114, 199, 600, 651, 700, 701, 718, 791, 1000, 1001, 1005, 1007, 1008, 1009, 1014, 1015, 1016, 1017, 1021, 1022, 1028, 1040, 1041,
  1082, 1114, 1115, 1182, 1183, 1184, 1185, 1186, 1187, 1231, 1270, 1700, 2951, 3802, 3807, 3907,
];

function textParser(oid: number): TextParser {
  return PARSER_OVERRIDES[oid] ?? pgTypesParser(oid);
}

/** Type parsing for a pg Pool: the overrides, then pg-types (binary results are never requested). */
export const pgTypeConfig: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    format === "binary" ? pg.types.getTypeParser(oid, "binary") : textParser(oid)) as pg.CustomTypesConfig["getTypeParser"],
};

/** The same parsers as a PGlite `parsers` table. */
export const pgliteParsers: Record<number, TextParser> = Object.fromEntries(PG_TYPES_OIDS.map((oid) => [oid, textParser(oid)]));

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Turns a query argument into what both drivers send the same way: `undefined` → NULL, bigint →
 * its decimal string, Date → ISO-8601 (zone-independent), objects and arrays of objects → JSON
 * (pg would send an array of objects as a Postgres array literal, which a json column rejects).
 */
export function toDriverValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    if (value.some(isPlainObject)) return JSON.stringify(value);
    return value.map((v) => (typeof v === "bigint" ? v.toString() : v instanceof Date ? v.toISOString() : v));
  }
  if (isPlainObject(value)) return JSON.stringify(value);
  return value;
}
