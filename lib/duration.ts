/**
 * Encore's duration strings (`every`, `ackDeadline`, `messageRetention`, retry backoffs), parsed
 * with the grammar Encore's parser uses: tsparser/litparser/src/lib.rs reads them with the
 * `duration-string` crate (0.3), which drops all whitespace, splits the rest into groups of digits
 * followed by a unit, and accepts an unsigned integer before each of ns, us, ms, s, m, h, d, w, y.
 * So "1h30m" and "1h 30m" are durations; "1.5h", "90", "h", "1 hour" and "µs" units are not.
 *
 * @example parseDuration("1m30s") // 90_000
 */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86_400e3, w: 604_800e3, y: 31_556_926e3 };

/** What Encore's grammar expects, for error messages. */
export const DURATION_GRAMMAR = 'integer groups with a unit of ns, us, ms, s, m, h, d, w or y, e.g. "30s", "5m", "1h30m"';

/** Milliseconds, or undefined when Encore would refuse the string. */
export function tryParseDuration(input: string): number | undefined {
  const text = input.replace(/\s+/gu, "");
  // A group is the digits (any Unicode number, as Rust's char::is_numeric) then everything else.
  const groups = text === "" ? [""] : (text.match(/\p{N}*[^\p{N}]*/gu) ?? []).filter((g) => g !== "");
  let total = 0;
  for (const group of groups) {
    const [, digits, unit] = /^(\p{N}*)(.*)$/u.exec(group)!;
    // Rust's u64 parse: ASCII digits only, at most 2^64 - 1.
    if (!/^[0-9]+$/.test(digits) || BigInt(digits) > 0xffff_ffff_ffff_ffffn) return undefined;
    if (!(unit in UNIT_MS)) return undefined;
    total += Number(digits) * UNIT_MS[unit];
  }
  return total;
}

/** Milliseconds; throws a RangeError naming the grammar for a string Encore would refuse. */
export function parseDuration(input: string): number {
  const ms = tryParseDuration(input);
  if (ms === undefined) throw new RangeError(`invalid duration "${input}": Encore expects ${DURATION_GRAMMAR}`);
  return ms;
}
