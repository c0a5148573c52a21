/**
 * `api.static`: files from a directory, with a configurable not-found page (an SPA serves its
 * index.html with status 200). Paths are resolved inside the directory only.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

export interface StaticSite {
  dir: string;
  notFound?: string;
  notFoundStatus?: number;
  headers?: Record<string, string | string[]>;
}

export async function serveStatic(site: StaticSite, relativePath: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const root = resolve(site.dir);
  const target = resolve(root, "." + sep + normalize(relativePath || "index.html").replace(/^([/\\])+/, ""));
  const inside = target === root || target.startsWith(root + sep);
  let file = inside ? await regularFile(target) : undefined;
  if (!file && inside) file = await regularFile(join(target, "index.html"));
  let status = 200;
  if (!file && site.notFound) {
    file = await regularFile(resolve(site.notFound));
    status = site.notFoundStatus ?? 404;
  }
  if (!file) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("not found");
    return;
  }
  const immutable = /[.-][0-9a-zA-Z_-]{8,}\.(js|css|woff2|svg|png)$/.test(file.path);
  res.writeHead(status, {
    "content-type": CONTENT_TYPES[extname(file.path)] ?? "application/octet-stream",
    "content-length": file.size,
    "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    ...site.headers,
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(file.path).pipe(res);
}

async function regularFile(path: string): Promise<{ path: string; size: number } | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? { path, size: info.size } : undefined;
  } catch {
    return undefined;
  }
}
