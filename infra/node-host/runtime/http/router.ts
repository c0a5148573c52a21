/**
 * A segment-trie router that routes as Encore's runtime does (runtimes/core/src/api/paths.rs and
 * gateway/router.rs, on matchit 0.7): `/a/:param`, `/a/*wildcard` (rest of the path, last) and
 * `/!fallback` (anything no other route matches).
 *
 * - A literal segment beats a parameter, a parameter beats a wildcard; a failed branch backtracks.
 * - Parameters are positional, as in Encore (matchit renames them; the runtime registers `:_`): a
 *   route gets its values under its *own* names, so `/keys/:key` and `/keys/:id/meta` coexist.
 * - A trailing slash reaches the route without it (`/items/` → `/items`, Encore's "TSR" paths),
 *   unless a route (a wildcard's empty rest) takes the slashed path itself; a wildcard also
 *   matches an empty rest (`/files/` → `/files/*path` with path "").
 *
 * A lookup costs O(path segments) per branch it tries.
 */

interface Entry<T> {
  route: T;
  /** The route's parameter names in path order (a trailing wildcard or fallback last). */
  names: string[];
}

interface Node<T> {
  statics: Map<string, Node<T>>;
  param?: Node<T>;
  wildcard?: Map<string, Entry<T>>;
  routes: Map<string, Entry<T>>;
}

export interface Match<T> {
  route: T;
  params: Record<string, string>;
}

export type Lookup<T> = Match<T> | { methodNotAllowed: string[] } | undefined;

const newNode = <T>(): Node<T> => ({ statics: new Map(), routes: new Map() });

export class Router<T> {
  private readonly root: Node<T> = newNode();
  private readonly fallback = new Map<string, Entry<T>>();

  /** Adds a route for the given methods (`*` for any). Throws on a duplicate. */
  add(methods: string[], path: string, route: T): void {
    const segments = splitPath(path);
    const names: string[] = [];
    let node = this.root;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      const marker = segment[0];
      if (marker === "*" || marker === "!") {
        if (i !== segments.length - 1) throw new Error(`${path}: a wildcard must be the last segment`);
        names.push(segment.slice(1));
        addMethods(marker === "!" ? this.fallback : (node.wildcard ??= new Map()), methods, path, { route, names });
        return;
      }
      if (marker === ":") {
        names.push(segment.slice(1));
        node = node.param ??= newNode();
      } else {
        let next = node.statics.get(segment);
        if (!next) node.statics.set(segment, (next = newNode()));
        node = next;
      }
    }
    addMethods(node.routes, methods, path, { route, names });
  }

  /** Finds the route for a method and a raw (still percent-encoded) path. */
  lookup(method: string, rawPath: string): Lookup<T> {
    const segments = splitPath(rawPath);
    let found = this.walk(this.root, segments, 0, [], method);
    // Encore registers `<route>/` for every route without a wildcard ("TSR" paths).
    const slashed = segments.length > 1 && segments[segments.length - 1] === "" && segments[segments.length - 2] !== "";
    if (slashed && !(found && "route" in found)) {
      const trimmed = this.walk(this.root, segments.slice(0, -1), 0, [], method);
      if (trimmed && ("route" in trimmed || !found)) found = trimmed;
    }
    if (found && "route" in found) return found;
    const fallback = pick(this.fallback, method);
    if (fallback) return match(fallback, [decodeSegment(segments.join("/"))]);
    return found;
  }

  private walk(node: Node<T>, segments: string[], index: number, values: string[], method: string): Lookup<T> {
    if (index === segments.length) {
      const entry = pick(node.routes, method);
      if (entry) return match(entry, values);
      return node.routes.size ? { methodNotAllowed: [...node.routes.keys()] } : undefined;
    }
    const segment = segments[index];
    let notAllowed: Lookup<T>;
    const exact = node.statics.get(segment);
    if (exact) {
      const found = this.walk(exact, segments, index + 1, values, method);
      if (found && "route" in found) return found;
      notAllowed = found;
    }
    if (node.param && segment !== "") {
      const found = this.walk(node.param, segments, index + 1, [...values, decodeSegment(segment)], method);
      if (found && "route" in found) return found;
      notAllowed ??= found;
    }
    if (node.wildcard) {
      const entry = pick(node.wildcard, method);
      if (entry) return match(entry, [...values, decodeSegment(segments.slice(index).join("/"))]);
      notAllowed ??= { methodNotAllowed: [...node.wildcard.keys()] };
    }
    return notAllowed;
  }
}

/** The route with its own parameter names given to the positional values. */
function match<T>(entry: Entry<T>, values: string[]): Match<T> {
  const params: Record<string, string> = {};
  entry.names.forEach((name, i) => (params[name] = values[i]));
  return { route: entry.route, params };
}

function addMethods<T>(routes: Map<string, Entry<T>>, methods: string[], path: string, entry: Entry<T>) {
  for (const method of methods) {
    if (routes.has(method)) throw new Error(`duplicate route: ${method} ${path}`);
    routes.set(method, entry);
  }
}

function pick<T>(routes: Map<string, Entry<T>>, method: string): Entry<T> | undefined {
  return routes.get(method) ?? routes.get("*") ?? (method === "HEAD" ? routes.get("GET") : undefined);
}

function splitPath(path: string): string[] {
  const trimmed = path.startsWith("/") ? path.slice(1) : path;
  return trimmed === "" ? [] : trimmed.split("/");
}

/** Percent-decodes one path segment; a malformed escape is kept as written rather than throwing. */
function decodeSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
