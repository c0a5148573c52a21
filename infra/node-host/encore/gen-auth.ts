/** The Node host's `~encore/auth`: the auth data of the current request, or null. */
import { currentContext } from "../runtime/reqctx.ts";

export type AuthData = Record<string, unknown> & { userID: string };

export function getAuthData(): AuthData | null {
  return (currentContext()?.authData as AuthData | undefined) ?? null;
}
