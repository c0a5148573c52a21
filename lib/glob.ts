/**
 * Redis glob patterns (the syntax of SCAN MATCH and KEYS), validated and matched in process.
 *
 * Pattern invalidation deletes from L2 with Redis's own matcher and from every L1 with this one,
 * so the two must agree: `*` any run of bytes, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` a class,
 * `\x` the byte `x` literally. Redis compares bytes, so keys and patterns with non-ASCII
 * characters are matched on their UTF-8 bytes here too.
 *
 * Patterns Redis would read in a surprising way are refused with a message that says how to
 * write them: a trailing lone `\`, an unclosed `[`, a range ending in `]`. The number of `*` is
 * bounded because Redis's matcher backtracks (a "glob bomb" such as `*a*a*a*…b` costs it
 * exponential time); this matcher does not backtrack beyond the last star (O(key × pattern)).
 *
 * @example
 * const match = compileGlob("user:[0-9]*");
 * match("user:42")   // true
 * match("user:x")    // false
 */
export const MAX_GLOB_LENGTH = 1024;
export const MAX_GLOB_STARS = 16;

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

function matchTokens(tokens: readonly Token[], key: string): boolean {
  let t = 0;
  let k = 0;
  let star = -1;
  let starKey = 0;
  while (k < key.length) {
    const token = tokens[t];
    if (token !== undefined && token.kind !== "star" && matchesOne(token, key[k])) {
      t++;
      k++;
    } else if (token?.kind === "star") {
      star = t++;
      starKey = k;
    } else if (star >= 0) {
      t = star + 1;
      k = ++starKey;
    } else {
      return false;
    }
  }
  while (tokens[t]?.kind === "star") t++;
  return t === tokens.length;
}

/** Throws `GlobError` saying what to fix; returns the pattern unchanged. */
export function validateGlob(pattern: string): string {
  parse(pattern);
  return pattern;
}

/** A predicate matching keys the way Redis MATCH would. */
export function compileGlob(pattern: string): (key: string) => boolean {
  const tokens = parse(pattern);
  if (tokens.length === 1 && tokens[0].kind === "star") return () => true;
  return (key) => matchTokens(tokens, bytes(key));
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
