import { api } from "encore.dev/api";
import { secret } from "encore.dev/config";
import { parseTokenConfig, type Role } from "../lib/auth/tokens";
import { requireRole, type AuthData } from "../lib/auth/access";

const tokenConfig = secret("CACHE_TOKENS");

/** Who the presented token is: its name, role and namespaces. Any role. */
export const whoami = api({ method: "GET", path: "/api/auth/whoami", expose: true, auth: true }, async (): Promise<AuthData> => requireRole("viewer"));

export interface TokenInfo {
  name: string;
  role: Role;
  namespaces: string[];
}

/** The configured tokens, without their secrets. Admin only. */
export const listTokens = api({ method: "GET", path: "/api/auth/tokens", expose: true, auth: true }, async (): Promise<{ tokens: TokenInfo[] }> => {
  requireRole("admin");
  const tokens = [{ name: "admin", role: "admin" as Role, namespaces: [] }, ...parseTokenConfig(tokenConfig())];
  return { tokens: tokens.map(({ name, role, namespaces }) => ({ name, role, namespaces })) };
});
