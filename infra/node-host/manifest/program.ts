/**
 * One TypeScript program over the app's sources, with the compiler options of the app's
 * tsconfig.json. Library files (TypeScript's lib, node_modules) never change between runs, so
 * their parsed (and, once bound, bound) SourceFiles are shared across programs in this process:
 * extracting many small apps (the conformance fixtures) costs one parse of @types/node, not many.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import type { AppSources } from "./sources.ts";

const DEFAULT_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ES2022,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  skipLibCheck: true,
  allowImportingTsExtensions: true,
};

const libraryFiles = new Map<string, ts.SourceFile>();

function isLibraryFile(fileName: string): boolean {
  return fileName.includes("/node_modules/");
}

/** Reads appRoot/tsconfig.json (following `extends`); missing or broken configs fall back to defaults. */
export function readCompilerOptions(appRoot: string): ts.CompilerOptions {
  const configPath = join(appRoot, "tsconfig.json");
  if (!existsSync(configPath)) return { ...DEFAULT_OPTIONS };
  const raw = ts.readConfigFile(configPath, ts.sys.readFile);
  if (raw.error) return { ...DEFAULT_OPTIONS };
  const parsed = ts.parseJsonConfigFileContent(raw.config, ts.sys, appRoot, undefined, configPath);
  return { ...parsed.options };
}

/**
 * Creates the program over `roots` (default: every file of the app) and what they import, with
 * the app's files' text from `sources` (read once).
 */
export function createAppProgram(sources: AppSources, roots: string[] = sources.files): ts.Program {
  const options: ts.CompilerOptions = {
    ...readCompilerOptions(sources.appRoot),
    noEmit: true,
    skipLibCheck: true,
    incremental: false,
    composite: false,
    declaration: false,
    sourceMap: false,
    tsBuildInfoFile: undefined,
  };
  const host = ts.createCompilerHost(options, true);
  const baseGetSourceFile = host.getSourceFile.bind(host);
  const baseReadFile = host.readFile.bind(host);
  const baseFileExists = host.fileExists.bind(host);

  host.readFile = (fileName) => sources.text.get(fileName) ?? baseReadFile(fileName);
  host.fileExists = (fileName) => sources.text.has(fileName) || baseFileExists(fileName);
  host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
    const text = sources.text.get(fileName);
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersionOrOptions, true);
    const libFile = fileName.startsWith(host.getDefaultLibLocation?.() ?? "\0") || isLibraryFile(fileName);
    if (!libFile) return baseGetSourceFile(fileName, languageVersionOrOptions, onError, shouldCreate);
    const version = typeof languageVersionOrOptions === "object" ? languageVersionOrOptions : { languageVersion: languageVersionOrOptions };
    const key = `${fileName}|${version.languageVersion}|${version.impliedNodeFormat ?? ""}`;
    let sf = libraryFiles.get(key);
    if (!sf) {
      sf = baseGetSourceFile(fileName, languageVersionOrOptions, onError, shouldCreate);
      if (sf) libraryFiles.set(key, sf);
    }
    return sf;
  };
  return ts.createProgram({ rootNames: roots, options, host });
}
