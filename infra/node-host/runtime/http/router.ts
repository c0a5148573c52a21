/**
 * A segment-trie router with Encore's path syntax: `/a/:param`, `/a/*wildcard` (rest of the
 * path, must be last) and `/!fallback` (anything no other route matches). Static segments win
 * over parameters, parameters over wildcards; lookups are O(path segments).
 */

interface Node<T> {
  statics: Map<string, Node<T>>;
  param?: { name: string; node: Node<T> };
  wildcard?: { name: string; routes: Map<string, T> };
  routes: Map<string, T>;
}

export interface Match<T> {
  route: T;
  params: Record<string, string>;
}

export type Lookup<T> = Match<T> | { methodNotAllowed: string[] } | undefined;

const newNode = <T>(): Node<T> => ({ statics: new Map(), routes: new Map() });

export class Router<T> {
  private readonly root: Node<T> = newNode();
  private fallback?: { name: string; routes: Map<string, T> };

  /** Adds a route for the given methods (`*` for any). Throws on a duplicate. */
  add(methods: string[], path: string, route: T): void {
    const segments = splitPath(path);
    let node = this.root;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      const marker = segment[0];
      if (marker === "*" || marker === "!") {
        if (i !== segments.length - 1) throw new Error(`${path}: a wildcard must be the last segment`);
        const target =
          marker === "!"
            ? (this.fallback ??= { name: segment.slice(1), routes: new Map() })
            : (node.wildcard ??= { name: segment.slice(1), routes: new Map() });
        addMethods(target.routes, methods, path, route);
        return;
      }
      if (marker === ":") {
        node.param ??= { name: segment.slice(1), node: newNode() };
        node = node.param.node;
      } else {
        let next = node.statics.get(segment);
        if (!next) node.statics.set(segment, (next = newNode()));
        node = next;
      }
    }
    addMethods(node.routes, methods, path, route);
  }

  /** Finds the route for a method and a raw (still percent-encoded) path. */
  lookup(method: string, rawPath: string): Lookup<T> {
    const segments = splitPath(rawPath);
    const params: Record<string, string> = {};
    const found = this.walk(this.root, segments, 0, params, method);
    if (found && "route" in found) return found;
    if (this.fallback) {
      const route = pick(this.fallback.routes, method);
      if (route) return { route, params: { [this.fallback.name]: decodeSegment(segments.join("/")) } };
    }
    return found;
  }

  private walk(node: Node<T>, segments: string[], index: number, params: Record<string, string>, method: string): Lookup<T> {
    if (index === segments.length) {
      const route = pick(node.routes, method);
      if (route) return { route, params };
      return node.routes.size ? { methodNotAllowed: [...node.routes.keys()] } : undefined;
    }
    const segment = segments[index];
    let notAllowed: Lookup<T>;
    const exact = node.statics.get(segment);
    if (exact) {
      const found = this.walk(exact, segments, index + 1, params, method);
      if (found && "route" in found) return found;
      notAllowed = found;
    }
    if (node.param && segment !== "") {
      params[node.param.name] = decodeSegment(segment);
      const found = this.walk(node.param.node, segments, index + 1, params, method);
      if (found && "route" in found) return found;
      delete params[node.param.name];
      notAllowed ??= found;
    }
    if (node.wildcard) {
      const route = pick(node.wildcard.routes, method);
      if (route) return { route, params: { ...params, [node.wildcard.name]: decodeSegment(segments.slice(index).join("/")) } };
      notAllowed ??= { methodNotAllowed: [...node.wildcard.routes.keys()] };
    }
    return notAllowed;
  }
}

function addMethods<T>(routes: Map<string, T>, methods: string[], path: string, route: T) {
  for (const method of methods) {
    if (routes.has(method)) throw new Error(`duplicate route: ${method} ${path}`);
    routes.set(method, route);
  }
}

function pick<T>(routes: Map<string, T>, method: string): T | undefined {
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
