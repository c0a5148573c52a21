/**
 * The URL is the state: every view keeps its pattern, page, window, selection and tab in search
 * params, validated against a schema with safe defaults, so any view can be linked and reloaded.
 * Defaults are left out of the URL; unknown params are kept untouched.
 *
 * @example
 * const schema = { match: text("*"), page: int(1, { min: 1 }), tab: oneOf(["keys", "stats"], "keys") };
 * readState(schema, new URLSearchParams("page=0&tab=nope"))  // { match: "*", page: 1, tab: "keys" }
 * writeState(schema, params, { page: 3 }).toString()          // "page=3"
 */

export interface Field<T> {
  defaultValue: T;
  /** The value for a raw param; the default when it is absent or invalid. */
  parse(raw: string | null): T;
  /** The param text; `null` leaves it out of the URL. */
  serialize(value: T): string | null;
}

export type Schema = Record<string, Field<any>>;
export type StateOf<S extends Schema> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/** Free text (trimmed of nothing; empty → default). */
export function text(defaultValue = "", maxLength = 2048): Field<string> {
  return {
    defaultValue,
    parse: (raw) => (raw === null || raw === "" || raw.length > maxLength ? defaultValue : raw),
    serialize: (value) => (value === defaultValue || value === "" ? null : value),
  };
}

/** An integer within bounds; anything else → default. */
export function int(defaultValue: number, bounds: { min?: number; max?: number } = {}): Field<number> {
  const { min = -Infinity, max = Infinity } = bounds;
  return {
    defaultValue,
    parse: (raw) => {
      if (raw === null || !/^-?\d+$/.test(raw)) return defaultValue;
      const n = Number(raw);
      return n >= min && n <= max ? n : defaultValue;
    },
    serialize: (value) => (value === defaultValue ? null : String(value)),
  };
}

/** One of a fixed set of values. */
export function oneOf<const T extends string>(values: readonly T[], defaultValue: T): Field<T> {
  return {
    defaultValue,
    parse: (raw) => ((values as readonly string[]).includes(raw ?? "") ? (raw as T) : defaultValue),
    serialize: (value) => (value === defaultValue ? null : value),
  };
}

/** A boolean as "1" (true) or absent (false). */
export function flag(): Field<boolean> {
  return { defaultValue: false, parse: (raw) => raw === "1" || raw === "true", serialize: (value) => (value ? "1" : null) };
}

/** A list of distinct strings kept as repeated-free, comma-separated text. */
export function list(maxItems = 200): Field<string[]> {
  return {
    defaultValue: [],
    parse: (raw) => (raw ? [...new Set(raw.split(",").filter(Boolean))].slice(0, maxItems) : []),
    serialize: (value) => (value.length ? value.join(",") : null),
  };
}

/** The schema's values from `params`. */
export function readState<S extends Schema>(schema: S, params: URLSearchParams): StateOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema)) out[name] = field.parse(params.get(name));
  return out as StateOf<S>;
}

/** `params` with `patch` applied: defaults removed, other params kept. Returns a new object. */
export function writeState<S extends Schema>(schema: S, params: URLSearchParams, patch: Partial<StateOf<S>>): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [name, value] of Object.entries(patch)) {
    const field = schema[name];
    if (!field) continue;
    const serialized = value === undefined ? null : field.serialize(value);
    if (serialized === null) next.delete(name);
    else next.set(name, serialized);
  }
  return next;
}
