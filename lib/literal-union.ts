/**
 * Runtime lists of string literal unions. API types spell their unions out (`"a" | "b"`), because
 * Encore's type resolver cannot read `(typeof LIST)[number]` (tsparser/src/parser/types/
 * type_resolve.rs: indexed access works only on object types); the list a validator needs at run
 * time is then written with `listOf`, which fails to compile when it misses a member of the union
 * or holds something else.
 *
 * @example
 * export type Role = "viewer" | "operator" | "admin";
 * export const ROLES = listOf<Role>()("viewer", "operator", "admin"); // leaving one out fails to compile
 */

/** The values of `T`, each exactly once-or-more, checked complete at compile time. */
export function listOf<T extends string>() {
  return <const L extends readonly T[]>(...values: L & ([T] extends [L[number]] ? unknown : never)): L => values;
}
