/**
 * A token the API turned away mid-session (expired, revoked, deleted from the configuration):
 * the API client reports the 401 here with the server's reason, and the session gate sends the
 * user back to the sign-in screen with it. A tiny external store, like settings.ts.
 */
import { useSyncExternalStore } from "react";

export interface Rejection {
  /** The token the API refused; a different token signs in afresh. */
  token: string;
  /** The API's own message, e.g. "invalid token". */
  reason: string;
}

let current: Rejection | null = null;
const listeners = new Set<() => void>();

function publish(next: Rejection | null): void {
  current = next;
  for (const listener of listeners) listener();
}

/** Records that the API refused `token` (HTTP 401) and why. */
export function reportRejected(token: string, reason: string): void {
  if (current?.token === token && current.reason === reason) return;
  publish({ token, reason });
}

/** Forgets the rejection (a token was just accepted again). */
export function clearRejection(): void {
  if (current) publish(null);
}

export function getRejection(): Rejection | null {
  return current;
}

export function useRejection(): Rejection | null {
  return useSyncExternalStore((listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, getRejection);
}
