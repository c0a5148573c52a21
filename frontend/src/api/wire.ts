/**
 * How a service's TypeScript type arrives in the browser, so that the dashboard's API types are
 * derived from the services' own exported types (`Wire<import("…/service").X>`) instead of copies.
 *
 * - `Date` becomes `string`: the host encodes it with JSON.stringify (ISO-8601).
 * - A field typed `HttpStatus` (encore.dev/api) is not in the body: the host answers with it as
 *   the response's HTTP status and deletes it from the JSON (infra/node-host/runtime/http/server.ts,
 *   `statusField`).
 * - Everything else, optional fields and `null`s included, is sent as is.
 *
 * Only ever used with `import type`: nothing of a service reaches the bundle.
 */
import type { HttpStatus } from "encore.dev/api";

/** `true` when `A` and `B` are the same type (e.g. the same union of string literals). */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Compiles only when `T` is `true`: `type _Check = Assert<Same<Copy, Original>>`. */
export type Assert<T extends true> = T;

/** A field typed exactly `HttpStatus` (optional or not). */
type IsHttpStatus<V> = Same<Exclude<V, undefined>, HttpStatus>;

export type Wire<T> = T extends Date
  ? string
  : T extends readonly unknown[]
    ? { [I in keyof T]: Wire<T[I]> }
    : T extends object
      ? { [K in keyof T as IsHttpStatus<T[K]> extends true ? never : K]: Wire<T[K]> }
      : T;
