/**
 * Feature folders stand alone (as in shadcn-admin): a page imports shared code from src/api,
 * src/lib and src/components, never another feature's files, so one page changes without
 * reading another.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const features = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** The feature folder `path` (a file under features/) belongs to. */
const featureOf = (path: string) => relative(features, path).split(sep)[0];

test("no feature imports another feature's modules", () => {
  const crossings: string[] = [];
  for (const file of sources(features)) {
    const own = featureOf(file);
    if (!own.includes(".")) {
      for (const [, specifier] of readFileSync(file, "utf8").matchAll(/\bfrom\s+"(\.[^"]+)"/g)) {
        const target = resolve(dirname(file), specifier);
        if (target.startsWith(features + sep) && featureOf(target) !== own) crossings.push(`${relative(features, file)} → ${specifier}`);
      }
    }
  }
  expect(crossings).toEqual([]);
});

test("the check sees a crossing (the explorer once imported the invalidation feature)", () => {
  const file = join(features, "explorer", "ExplorerPage.tsx");
  expect(featureOf(resolve(dirname(file), "../invalidation/run"))).toBe("invalidation");
  expect(featureOf(file)).toBe("explorer");
});
