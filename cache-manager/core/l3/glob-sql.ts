/**
 * L3 pattern matching in SQL, agreeing with `lib/glob.ts` (which L1 and Redis agree on).
 *
 * A glob becomes a `LIKE` pattern on the `COLLATE "C"` key column: literals escaped (`%`, `_` and
 * `\` are literal in a key), each run of `*`, `?` and `[...]` becomes `%`. That `LIKE` matches
 * every key the glob matches (a superset); it is exact when the glob has only literals and `*`
 * (the usual `user:*`, `t:*:suffix`), and its literal prefix lets PostgreSQL range-scan the
 * primary key. For globs with `?` or `[...]` the store filters the `LIKE` candidates with
 * `compileGlob`, because glob `?` is one byte (as in Redis) and `LIKE`'s `_` one character.
 *
 * @example
 * likeOfGlob("user:*")        // { like: "user:%", exact: true }
 * likeOfGlob("a_b[0-9]?")      // { like: "a\\_b%", exact: false }
 */
import { GlobError, validateGlob } from "../../../lib/glob.ts";
import { L3ArgumentError } from "./errors.ts";

export interface SqlGlob {
  /** A `LIKE` pattern (escape character `\`) matching at least the keys the glob matches. */
  like: string;
  /** True when `like` matches exactly the keys the glob matches. */
  exact: boolean;
}

const escapeLike = (char: string) => (char === "%" || char === "_" || char === "\\" ? `\\${char}` : char);

/** Translates a glob; throws `L3ArgumentError` (with the glob's own message) for an invalid one. */
export function likeOfGlob(pattern: string): SqlGlob {
  try {
    validateGlob(pattern);
  } catch (error) {
    if (error instanceof GlobError) throw new L3ArgumentError(error.message, { cause: error });
    throw error;
  }
  const chars = [...pattern]; // code points: a literal non-ASCII character stays whole
  let like = "";
  let exact = true;
  let afterWildcard = false;
  const wildcard = () => {
    if (!afterWildcard) like += "%";
    afterWildcard = true;
  };
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i];
    if (char === "\\") {
      like += escapeLike(chars[++i]);
      afterWildcard = false;
    } else if (char === "*") {
      wildcard();
    } else if (char === "?" || char === "[") {
      exact = false;
      wildcard();
      if (char === "[") {
        // validateGlob saw the class closed: skip to its `]`, past escaped characters.
        for (i++; chars[i] !== "]"; i++) if (chars[i] === "\\") i++;
      }
    } else {
      like += escapeLike(char);
      afterWildcard = false;
    }
  }
  return { like, exact };
}
