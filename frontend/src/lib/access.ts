import useSWR from "swr";
import { paths, type Role, type WhoAmI } from "../api/cache";
import { api } from "../api/client";
import { useSettings } from "./settings";

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` is at least `needed`. */
export function roleAtLeast(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}

/**
 * Who the token is and what the dashboard lets it do: `can("operator")` is false in read-only
 * mode or when the token's role is lower.
 */
export function useAccess() {
  const { token, readOnly } = useSettings();
  const { data, error, isLoading } = useSWR<WhoAmI>(token ? [paths.whoami, token] : null, () => api<WhoAmI>(paths.whoami));
  return {
    who: data,
    error,
    isLoading,
    readOnly,
    hasToken: Boolean(token),
    can: (needed: Role) => !readOnly && roleAtLeast(data?.role, needed),
  };
}
