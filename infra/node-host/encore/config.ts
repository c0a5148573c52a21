/**
 * The Node host's `encore.dev/config`: a secret is read from the environment variable of the
 * same name each time it is called, so a restart is not needed after rotating it in tests.
 */
export interface Secret<Name extends string> {
  (): string;
  readonly name: Name;
}
export type AnySecret = Secret<string>;

export function secret<Name extends string>(name: Name): Secret<Name> {
  const read = () => process.env[name] ?? "";
  read.toString = () => `Secret<${name}>(${process.env[name] ? "*********" : "not set"})`;
  Object.defineProperty(read, "name", { value: name });
  return read as unknown as Secret<Name>;
}
