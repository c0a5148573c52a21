import useSWR, { useSWRConfig } from "swr";
import { paths, type Role, type WhoAmI } from "../api/cache";
import { api } from "../api/client";
import { clearRejection } from "./session";
import { updateSettings, useSettings } from "./settings";

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` is at least `needed`. */
export function roleAtLeast(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}

const whoamiKey = (token: string) => [paths.whoami, token] as const;

/**
 * Who the token is and what the dashboard lets it do: `can("operator")` is false in read-only
 * mode or when the token's role is lower.
 */
export function useAccess() {
  const { token, readOnly } = useSettings();
  const { data, error, isLoading } = useSWR<WhoAmI>(token ? whoamiKey(token) : null, () => api<WhoAmI>(paths.whoami));
  return {
    who: data,
    error,
    isLoading,
    readOnly,
    hasToken: Boolean(token),
    can: (needed: Role) => !readOnly && roleAtLeast(data?.role, needed),
  };
}

/**
 * Keeping a checked token and dropping it. Both clear SWR's cache without refetching, so no
 * page ever shows what an earlier token was allowed to see.
 */
export function useSessionActions() {
  const { mutate } = useSWRConfig();
  const forgetData = () => mutate(() => true, undefined, { revalidate: false });
  return {
    /** Keeps `token`, already checked: `who` is its whoami answer. */
    async signIn(token: string, who: WhoAmI) {
      await forgetData();
      await mutate(whoamiKey(token), who, { revalidate: false });
      clearRejection();
      updateSettings({ token });
    },
    async signOut() {
      updateSettings({ token: "" });
      await forgetData();
    },
  };
}
