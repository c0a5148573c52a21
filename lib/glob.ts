/**
 * Redis glob patterns (the syntax of SCAN MATCH and KEYS), validated and matched in process.
 *
 * Pattern invalidation deletes from L2 with Redis's own matcher and from every L1 with this one,
 * so the two must agree: `*` any run of bytes, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` a class,
 * `\x` the byte `x` literally. Redis compares bytes, so keys and patterns with non-ASCII
 * characters are matched on their UTF-8 bytes here too.
 *
 * Patterns Redis would read in a surprising way are refused with a message that says how to
 * write them: a trailing lone `\`, an unclosed `[`, a range ending in `]`. Pattern complexity is
 * bounded: at most MAX_GLOB_LENGTH characters, MAX_GLOB_STARS `*` (Redis's own matcher backtracks,
 * so a "glob bomb" such as `*a*a*a*…b` costs it far more than its length), at most MAX_GLOB_TAIL
 * characters after the first `*` (Redis tries them at every position of every key), and at most
 * MAX_GLOB_FLOATING_WILDCARDS `?`/`[...]` in the parts between stars.
 *
 * This matcher never backtracks: the pattern is cut at its stars into segments of one byte per
 * token; the first is matched at the key's start, the last at its end, and each one between at
 * its leftmost place after the previous (leftmost is always right for globs). A literal segment
 * is found with `indexOf`, so the common shapes (`t:*`, `t:*:suffix`, `t:*aaaa…b`) cost about the
 * key's length; a segment with `?` or a class costs at most key × MAX_GLOB_FLOATING_WILDCARDS.
 *
 * @example
 * const match = compileGlob("user:[0-9]*");
 * match("user:42")   // true
 * match("user:x")    // false
 */
export const MAX_GLOB_LENGTH = 1024;
export const MAX_GLOB_STARS = 16;
/** Most `?` and `[...]` tokens in the segments between stars, which are searched for. */
export const MAX_GLOB_FLOATING_WILDCARDS = 32;
/**
 * Most characters after the first `*`. Redis's matcher tries them at every position of every key
 * SCAN examines (key × tail per key, inside one SCAN call), so a long tail stalls Redis itself:
 * `t:*` + 511 × `a` + `b` over 1 KiB keys costs it ~500,000 steps per key.
 */
export const MAX_GLOB_TAIL = 64;

export class GlobError extends Error {
  readonly code = "E_GLOB";
}

type Token = { kind: "star" } | { kind: "any" } | { kind: "literal"; char: string } | { kind: "class"; negated: boolean; ranges: Array<[string, string]> };

const ASCII = /^[\u0000-\u007f]*$/; // eslint-disable-line no-control-regex -- the ASCII range, by definition

/** The UTF-8 bytes of `text`, one char per byte (so `?` means one byte, as in Redis). */
const bytes = (text: string) => (ASCII.test(text) ? text : Buffer.from(text, "utf8").toString("latin1"));

function parse(pattern: string): Token[] {
  if (typeof pattern !== "string" || pattern.length === 0) throw new GlobError("the pattern must be a non-empty glob, e.g. `user:*`");
  if (pattern.length > MAX_GLOB_LENGTH) throw new GlobError(`the pattern is longer than ${MAX_GLOB_LENGTH} characters`);
  const p = bytes(pattern);
  const tokens: Token[] = [];
  let stars = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "*") {
      if (++stars > MAX_GLOB_STARS) throw new GlobError(`the pattern has more than ${MAX_GLOB_STARS} \`*\`; such patterns are too costly for Redis to match`);
      if (tokens.at(-1)?.kind !== "star") tokens.push({ kind: "star" });
    } else if (c === "?") {
      tokens.push({ kind: "any" });
    } else if (c === "\\") {
      if (i === p.length - 1) throw new GlobError("the pattern ends with a lone `\\`; escape a literal backslash as `\\\\`");
      tokens.push({ kind: "literal", char: p[++i] });
    } else if (c === "[") {
      i = parseClass(p, i + 1, tokens);
    } else {
      tokens.push({ kind: "literal", char: c });
    }
  }
  return tokens;
}

/** Parses a class starting after its `[`; returns the index of its `]`. */
function parseClass(p: string, start: number, tokens: Token[]): number {
  let i = start;
  const negated = p[i] === "^";
  if (negated) i++;
  const ranges: Array<[string, string]> = [];
  for (; i < p.length; i++) {
    let c = p[i];
    if (c === "]") {
      tokens.push({ kind: "class", negated, ranges });
      return i;
    }
    if (c === "\\") {
      if (i === p.length - 1) break;
      c = p[++i];
    } else if (p[i + 1] === "-" && i + 2 < p.length) {
      const end = p[i + 2];
      if (end === "]") throw new GlobError("a range in `[...]` ends with `]`; escape it (`\\]`) or put `-` last as `\\-`");
      if (end === "\\") throw new GlobError("a range in `[...]` ends with `\\`; write the range's end unescaped");
      ranges.push(c <= end ? [c, end] : [end, c]);
      i += 2;
      continue;
    }
    ranges.push([c, c]);
  }
  throw new GlobError("the pattern has an unclosed `[`; escape a literal bracket as `\\[`");
}

function matchesOne(token: Token, char: string): boolean {
  switch (token.kind) {
    case "any":
      return true;
    case "literal":
      return token.char === char;
    case "class":
      return token.ranges.some(([from, to]) => char >= from && char <= to) !== token.negated;
    default:
      return false;
  }
}

/** A run of tokens between stars: its literal text when it has no wildcard (for `indexOf`). */
interface Segment {
  tokens: Token[];
  literal: string | undefined;
}

/** The pattern cut at its stars: `t:*a?c*z` → anchored start `t:`, floating `a?c`, anchored end `z`. */
interface Compiled {
  /** Never empty: a leading or trailing star leaves an empty first or last segment. */
  segments: Segment[];
}

function compile(tokens: Token[]): Compiled {
  const segments: Segment[] = [{ tokens: [], literal: undefined }];
  for (const token of tokens) {
    if (token.kind === "star") segments.push({ tokens: [], literal: undefined });
    else segments.at(-1)!.tokens.push(token);
  }
  for (const segment of segments) {
    if (segment.tokens.every((t) => t.kind === "literal")) segment.literal = segment.tokens.map((t) => (t as { char: string }).char).join("");
  }
  const tail = segments.slice(1).reduce((sum, segment) => sum + segment.tokens.length, 0);
  if (tail > MAX_GLOB_TAIL) {
    throw new GlobError(
      `the pattern has ${tail} characters after its first \`*\` (at most ${MAX_GLOB_TAIL}): Redis compares them at every position of every key; put the literal part before the \`*\``,
    );
  }
  const floating = segments
    .slice(1, -1)
    .reduce((sum, segment) => sum + (segment.literal === undefined ? segment.tokens.filter((t) => t.kind !== "literal").length : 0), 0);
  if (floating > MAX_GLOB_FLOATING_WILDCARDS) {
    throw new GlobError(`the pattern has more than ${MAX_GLOB_FLOATING_WILDCARDS} \`?\` or \`[...]\` between its \`*\`; such patterns are too costly to match`);
  }
  return { segments };
}

/** True when `segment` matches `key` at `at` (one byte per token). */
function matchesAt(segment: Segment, key: string, at: number): boolean {
  if (segment.literal !== undefined) return key.startsWith(segment.literal, at);
  const { tokens } = segment;
  for (let i = 0; i < tokens.length; i++) if (!matchesOne(tokens[i], key[at + i])) return false;
  return true;
}

/** The leftmost index in [from, to] where `segment` matches, or -1. */
function find(segment: Segment, key: string, from: number, to: number): number {
  if (segment.literal !== undefined) {
    const at = key.indexOf(segment.literal, from);
    return at !== -1 && at <= to ? at : -1;
  }
  for (let at = from; at <= to; at++) if (matchesAt(segment, key, at)) return at;
  return -1;
}

function matchCompiled({ segments }: Compiled, key: string): boolean {
  const first = segments[0];
  if (segments.length === 1) return key.length === first.tokens.length && matchesAt(first, key, 0);
  const last = segments.at(-1)!;
  const end = key.length - last.tokens.length; // where the last segment must start
  if (end < first.tokens.length || !matchesAt(first, key, 0) || !matchesAt(last, key, end)) return false;
  let at = first.tokens.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i];
    const found = find(segment, key, at, end - segment.tokens.length);
    if (found === -1) return false;
    at = found + segment.tokens.length;
  }
  return true;
}

/** Throws `GlobError` saying what to fix; returns the pattern unchanged. */
export function validateGlob(pattern: string): string {
  compile(parse(pattern));
  return pattern;
}

/** A predicate matching keys the way Redis MATCH would. */
export function compileGlob(pattern: string): (key: string) => boolean {
  const tokens = parse(pattern);
  if (tokens.length === 1 && tokens[0].kind === "star") return () => true;
  const compiled = compile(tokens);
  return (key) => matchCompiled(compiled, bytes(key));
}

/** The literal text every match starts with (`"user:"` for `user:*`): for namespace checks. */
export function literalPrefix(pattern: string): string {
  let prefix = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" || c === "?" || c === "[") break;
    if (c === "\\") {
      if (i + 1 >= pattern.length) break;
      prefix += pattern[++i];
    } else {
      prefix += c;
    }
  }
  return prefix;
}

/** True when the pattern matches every key. */
export const matchesEverything = (pattern: string) => parse(pattern).every((token) => token.kind === "star");
