/**
 * Who is calling and what they may do, for the endpoints of every service: `requireRole` checks
 * the caller's role, `requireKeyAccess` keeps a namespace-limited token inside its namespaces.
 * Importing this module starts nothing; it reads the auth data the gateway's auth handler
 * (cache-manager/auth.ts) attached to the current request.
 *
 * @example
 * export const flush = api({ ..., auth: true }, async () => {
 *   requireRole("admin");
 *   ...
 * });
 */
import { APIError } from "encore.dev/api";
import { getAuthData } from "~encore/auth";
import { allowsKey, roleAtLeast, type Role } from "./tokens";

/** What the auth handler returns for a valid token, and what endpoints read back. */
export interface AuthData {
  userID: string;
  role: Role;
  namespaces: string[];
}

/** The caller's auth data; throws `unauthenticated` when there is none. */
export function caller(): AuthData {
  const data = getAuthData();
  if (!data) throw APIError.unauthenticated("missing credentials: send an Authorization: Bearer <token> header");
  return data;
}

/** Throws `permission_denied` unless the caller's role is at least `role`. */
export function requireRole(role: Role): AuthData {
  const data = caller();
  if (!roleAtLeast(data.role, role)) {
    throw APIError.permissionDenied(`this action needs the ${role} role; token "${data.userID}" has ${data.role}`);
  }
  return data;
}

/** Throws `permission_denied` when a namespace-limited token reaches outside its namespaces. */
export function requireKeyAccess(data: AuthData, keys: Iterable<string>): void {
  if (data.namespaces.length === 0) return; // every key
  for (const key of keys) {
    if (!allowsKey({ name: data.userID, role: data.role, namespaces: data.namespaces }, key)) {
      throw APIError.permissionDenied(`token "${data.userID}" may only use keys in ${data.namespaces.join(", ")}; "${key}" is outside them`);
    }
  }
}
