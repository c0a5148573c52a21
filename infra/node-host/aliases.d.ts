export function resolveAlias(specifier: string): URL | undefined;
export function aliasEntries(): Array<[string, string]>;
