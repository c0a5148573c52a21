/**
 * Encore endpoint paths: parsing (`/api/cache/:key`, `/files/*path`, `/!fallback`) with Encore's
 * errors (tsparser/src/parser/respath.rs), and the router conflict rules. Encore registers each
 * service's endpoints in a matchit 0.7.3 router per method (tsparser/src/app/mod.rs, `Router`).
 * matchit renames parameters to `:a`, `:b`, … before inserting (`normalize_params`), keeps static
 * children beside a parameter child (a literal wins, then the parameter), and refuses only a
 * route already present or a parameter and a catch-all (`*x`) at one position. A fallback
 * (`!name`) is plain text to matchit.
 */

export type SegmentKind = "literal" | "param" | "wildcard" | "fallback";

export interface Segment {
  kind: SegmentKind;
  /** The literal text, or the parameter name without its sigil. */
  value: string;
}

export type PathParse = { ok: true; segments: Segment[] } | { ok: false; error: string };

/**
 * Parses an Encore path. The root path `/` has no segments.
 *
 * @example parsePath("/api/cache/:key") // → literal api, literal cache, param key
 */
export function parsePath(path: string): PathParse {
  if (path === "") return { ok: false, error: "empty path" };
  if (!path.startsWith("/")) return { ok: false, error: "path must start with '/'" };
  if (path.includes("?")) return { ok: false, error: "path cannot contain query parameters (the '?' character)" };
  if (path.includes("#")) return { ok: false, error: "path cannot contain url fragment (the '#' character)" };
  if (path === "/") return { ok: true, segments: [] };

  const raw = path.slice(1).split("/");
  const segments: Segment[] = [];
  const seen = new Set<string>();
  for (const [i, text] of raw.entries()) {
    const last = i === raw.length - 1;
    if (text === "") return { ok: false, error: "path cannot contain empty path segment" };
    const sigil = text[0];
    const kind: SegmentKind = sigil === ":" ? "param" : sigil === "*" ? "wildcard" : sigil === "!" ? "fallback" : "literal";
    const value = kind === "literal" ? text : text.slice(1);
    if ((kind === "param" || kind === "wildcard") && value === "") {
      return { ok: false, error: "path parameters must have a name" };
    }
    if (kind === "wildcard" && !last) return { ok: false, error: "wildcard segment must be at the end of the path" };
    if (kind === "fallback" && !last) return { ok: false, error: "fallback segment must be at the end of the path" };
    if (kind !== "literal") {
      if (seen.has(value)) return { ok: false, error: `duplicate path parameter '${value}'` };
      seen.add(value);
    }
    segments.push({ kind, value });
  }
  return { ok: true, segments };
}

/** The dynamic segments (parameters, wildcards, fallbacks) in order. */
export function dynamicSegments(segments: Segment[]): Segment[] {
  return segments.filter((s) => s.kind !== "literal");
}

/** How a segment looks to the router: fallbacks are plain text there (Encore routes them last). */
function routerKind(s: Segment): "static" | "param" | "wildcard" {
  if (s.kind === "param") return "param";
  if (s.kind === "wildcard") return "wildcard";
  return "static";
}

function routerText(s: Segment): string {
  return s.kind === "fallback" ? `!${s.value}` : s.value;
}

/**
 * Whether two paths can be registered for the same method in one matchit 0.7.3 router:
 * `"duplicate"` when they are the same route once parameters are renamed, `"conflict"` when a
 * parameter meets a catch-all (or two catch-alls differ) at one position, `undefined` when they
 * coexist (a literal beside a parameter, differently named parameters, different literals).
 */
export function comparePaths(a: Segment[], b: Segment[]): "duplicate" | "conflict" | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ka = routerKind(a[i]);
    const kb = routerKind(b[i]);
    if (ka === "static" || kb === "static") {
      if (ka !== kb || routerText(a[i]) !== routerText(b[i])) return undefined;
      continue;
    }
    if (ka !== kb) return "conflict";
    if (ka === "wildcard") return a[i].value === b[i].value ? "duplicate" : "conflict";
  }
  return a.length === b.length ? "duplicate" : undefined;
}
