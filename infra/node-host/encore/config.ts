/**
 * The Node host's `encore.dev/config`: a secret is the environment variable of the same name,
 * read on first use and then kept, as Encore loads secrets when the process starts (rotate by
 * restarting, as SECURITY.md says). Reading `process.env` costs about a microsecond a time, and
 * the auth handler reads two secrets on every request.
 */
export interface Secret<Name extends string> {
  (): string;
  readonly name: Name;
}
export type AnySecret = Secret<string>;

export function secret<Name extends string>(name: Name): Secret<Name> {
  let value: string | undefined;
  const read = () => (value ??= process.env[name] ?? "");
  read.toString = () => `Secret<${name}>(${process.env[name] ? "*********" : "not set"})`;
  Object.defineProperty(read, "name", { value: name });
  return read as unknown as Secret<Name>;
}
