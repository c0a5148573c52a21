/**
 * The imports of every file on Encore's walk, read from the syntax alone: which ones Encore's
 * usage resolver resolves (tsparser/src/parser/usageparser/mod.rs resolves every import
 * declaration that is not `import type`, in every module, and fails on one it cannot resolve), and
 * which files need the TypeScript program at all. A file that imports nothing from `encore.dev`
 * or `~encore/*` declares no resource, and one that also imports no such file uses none: for those
 * (the dashboard, the host, benchmarks) parsing and resolving imports is all Encore does.
 */

import { existsSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, extname, resolve } from "node:path";
import ts from "typescript";

/** An import declaration (or `export … from`) Encore's usage resolver resolves. */
export interface ValueImport {
  specifier: string;
  node: ts.Node;
}

/** Extensions Encore's module loader parses (tsparser/src/parser/module_loader.rs, MODULE_EXTENSIONS). */
const MODULE_EXTENSIONS = new Set([".js", ".ts", ".mjs", ".mts", ".cjs", ".cts", ".jsx", ".tsx"]);
const BUILTINS = new Set(builtinModules);

/** Import declarations that are not `import type` (Encore skips only those: `imp.type_only`). */
export function valueImports(sf: ts.SourceFile): ValueImport[] {
  const out: ValueImport[] = [];
  for (const stmt of sf.statements) {
    if (ts.isImportDeclaration(stmt) && !stmt.importClause?.isTypeOnly && ts.isStringLiteral(stmt.moduleSpecifier)) {
      out.push({ specifier: stmt.moduleSpecifier.text, node: stmt.moduleSpecifier });
    }
  }
  return out;
}

/** Whether a file imports a module whose resources Encore's parsers look for. */
export function importsEncore(imports: ValueImport[]): boolean {
  return imports.some((i) => i.specifier === "encore.dev" || i.specifier.startsWith("encore.dev/") || i.specifier.startsWith("~encore/"));
}

export class ImportResolver {
  private readonly cache: ts.ModuleResolutionCache;

  constructor(
    private readonly appRoot: string,
    private readonly options: ts.CompilerOptions,
  ) {
    this.cache = ts.createModuleResolutionCache(appRoot, (f) => f, options);
  }

  /**
   * The file an import resolves to; `"external"` for what Encore resolves without parsing (Node
   * built-ins, the generated `~encore/*` modules, existing non-module files such as `.css`);
   * undefined when it does not resolve.
   */
  resolve(specifier: string, fromFile: string): string | "external" | undefined {
    if (specifier === "~encore/clients" || specifier === "~encore/auth") return "external";
    if (specifier.startsWith("node:") || BUILTINS.has(specifier)) return "external";
    const r = ts.resolveModuleName(specifier, fromFile, this.options, ts.sys, this.cache).resolvedModule;
    if (r) return r.resolvedFileName;
    // A file Encore's resolver finds as written but does not parse (`./styles.css`).
    const relative = specifier.startsWith("./") || specifier.startsWith("../");
    if (relative && !MODULE_EXTENSIONS.has(extname(specifier)) && existsSync(resolve(dirname(fromFile), specifier))) return "external";
    return undefined;
  }

  /** Whether a resolved file belongs to the app (not a dependency). */
  isAppFile(file: string): boolean {
    return file.startsWith(this.appRoot) && !file.includes("/node_modules/");
  }
}
