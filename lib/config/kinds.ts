/**
 * The kinds of value a setting can hold, each with its parser and a sentence saying what it
 * accepts. A parser returns the value or a reason string; it never throws, so one pass over the
 * environment can report every problem at once. Units are accepted where people write them:
 * `64MiB` for bytes, `5m` for a duration (a bare number stays in the setting's own unit).
 */
import { parseDuration } from "../duration";

/** A parsed value, or why the text is not one. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface Kind<T> {
  /** Short type name for the documentation table: `bytes`, `duration (ms)`, `integer`. */
  readonly type: string;
  /** What is accepted, as said in error messages and the documentation. */
  readonly accepts: string;
  parse(text: string): Parsed<T>;
  /** The value as the documentation writes it. */
  format(value: T): string;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** 100000 → "100,000"; numbers below 10,000 (ports, counts) stay as written. */
const grouped = (n: number) => (Math.abs(n) >= 10_000 ? n.toLocaleString("en-US") : String(n));

function within(value: number, min: number | undefined, max: number | undefined, show: (n: number) => string): string | undefined {
  if (min !== undefined && value < min) return `below the minimum ${show(min)}`;
  if (max !== undefined && value > max) return `above the maximum ${show(max)}`;
  return undefined;
}

function rangeText(min: number | undefined, max: number | undefined, show: (n: number) => string): string {
  if (min !== undefined && max !== undefined) return ` from ${show(min)} to ${show(max)}`;
  if (min !== undefined) return ` ≥ ${show(min)}`;
  if (max !== undefined) return ` ≤ ${show(max)}`;
  return "";
}

const INTEGER = /^-?\d[\d_]*$/;

export function integer(range: { min?: number; max?: number } = {}): Kind<number> {
  return {
    type: "integer",
    accepts: `an integer${rangeText(range.min, range.max, grouped)}`,
    parse(text) {
      if (!INTEGER.test(text)) return fail("not an integer");
      const value = Number(text.replace(/_/g, ""));
      const outside = within(value, range.min, range.max, grouped);
      return outside ? fail(outside) : ok(value);
    },
    format: grouped,
  };
}

export function number(range: { min?: number; max?: number } = {}): Kind<number> {
  return {
    type: "number",
    accepts: `a number${rangeText(range.min, range.max, grouped)}`,
    parse(text) {
      const value = Number(text);
      if (!/^[\d.eE+-]+$/.test(text) || !Number.isFinite(value)) return fail("not a number");
      const outside = within(value, range.min, range.max, grouped);
      return outside ? fail(outside) : ok(value);
    },
    format: grouped,
  };
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

/** `64MiB`, `64 MiB`, `512KiB`, `1GB`, or a bare integer of bytes. */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
  if (!match) return undefined;
  const unit = match[2] ? BYTE_UNITS[match[2].toLowerCase()] : 1;
  if (unit === undefined) return undefined;
  const value = Number(match[1]) * unit;
  return Number.isInteger(value) ? value : undefined;
}

/** 67108864 → "64 MiB"; 1500 → "1,500 B". */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${grouped(bytes / size)} ${unit}`;
  }
  return `${grouped(bytes)} B`;
}

export function bytes(range: { min?: number; max?: number } = {}): Kind<number> {
  return {
    type: "bytes",
    accepts: `bytes as an integer or with a unit (64MiB, 512KiB, 1GB)${rangeText(range.min, range.max, formatBytes)}`,
    parse(text) {
      const value = parseBytes(text);
      if (value === undefined) return fail("not a byte size");
      const outside = within(value, range.min, range.max, formatBytes);
      return outside ? fail(outside) : ok(value);
    },
    format: formatBytes,
  };
}

const UNIT_MS = { ms: 1, s: 1000 } as const;

/** 300000 → "5 min"; 250 → "250 ms". */
function formatMs(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${grouped(ms / 3_600_000)} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${grouped(ms / 60_000)} min`;
  if (ms >= 1000 && ms % 1000 === 0) return `${grouped(ms / 1000)} s`;
  return `${grouped(ms)} ms`;
}

/**
 * A duration held in `unit` (the unit the variable's name ends with): a bare number is in that
 * unit, or an Encore duration string (`500ms`, `30s`, `5m`, `1h`, `1m30s`).
 */
export function duration(unit: keyof typeof UNIT_MS, range: { min?: number; max?: number } = {}): Kind<number> {
  const scale = UNIT_MS[unit];
  const show = (value: number) => formatMs(value * scale);
  return {
    type: `duration (${unit})`,
    accepts: `a duration: ${unit} as a bare number, or with a unit (500ms, 30s, 5m, 1h)${rangeText(range.min, range.max, show)}`,
    parse(text) {
      let value: number;
      if (/^\d+(\.\d+)?$/.test(text)) value = Number(text);
      else {
        try {
          value = parseDuration(text) / scale;
        } catch {
          return fail("not a duration");
        }
      }
      if (!Number.isInteger(value)) return fail(`not a whole number of ${unit}`);
      const outside = within(value, range.min, range.max, show);
      return outside ? fail(outside) : ok(value);
    },
    format: show,
  };
}

export function oneOf<const T extends string>(choices: readonly T[]): Kind<T> {
  return {
    type: "one of",
    accepts: `one of ${choices.join(", ")}`,
    parse: (text) => ((choices as readonly string[]).includes(text) ? ok(text as T) : fail("not one of them")),
    format: (value) => `\`${value}\``,
  };
}

/** Free text; `check` returns a reason when the text is not acceptable. */
export function text(accepts: string, check?: (text: string) => string | undefined): Kind<string> {
  return {
    type: "text",
    accepts,
    parse(value) {
      const reason = check?.(value);
      return reason ? fail(reason) : ok(value);
    },
    format: (value) => `\`${value}\``,
  };
}

/** A URL with one of `protocols` (`redis:`, `postgres:`). */
export function url(protocols: readonly string[]): Kind<string> {
  return text(`a URL (${protocols.map((p) => `${p}//`).join(" or ")})`, (value) => {
    try {
      if (!protocols.includes(new URL(value).protocol)) return `the scheme is not ${protocols.join(" or ")}`;
      return undefined;
    } catch {
      return "not a URL";
    }
  });
}

export function flag(): Kind<boolean> {
  return {
    type: "flag",
    accepts: "1 or 0 (true or false)",
    parse(value) {
      if (value === "1" || value.toLowerCase() === "true") return ok(true);
      if (value === "0" || value.toLowerCase() === "false") return ok(false);
      return fail("not a flag");
    },
    format: (value) => (value ? "1" : "0"),
  };
}
