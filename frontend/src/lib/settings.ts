/**
 * Settings kept in localStorage: the API token, polling interval, theme and read-only mode.
 * A tiny external store, so every component sees changes at once (and other tabs on `storage`).
 */
import { useSyncExternalStore } from "react";

export type Theme = "light" | "dark" | "system";

export interface Settings {
  token: string;
  /** Polling interval of live views, ms. */
  pollMs: number;
  theme: Theme;
  /** Hides and disables every action that changes data. */
  readOnly: boolean;
}

export const STORAGE_KEY = "cachet.settings";
export const POLL_CHOICES = [1_000, 2_000, 5_000, 10_000, 30_000] as const;
export const DEFAULT_SETTINGS: Settings = { token: "", pollMs: 5_000, theme: "system", readOnly: false };

/** Stored JSON → valid settings (unknown or bad fields fall back to defaults). */
export function parseSettings(raw: string | null): Settings {
  let data: Partial<Settings>;
  try {
    data = raw ? (JSON.parse(raw) as Partial<Settings>) : {};
  } catch {
    data = {};
  }
  return {
    token: typeof data.token === "string" ? data.token : DEFAULT_SETTINGS.token,
    pollMs: typeof data.pollMs === "number" && data.pollMs >= 500 && data.pollMs <= 600_000 ? data.pollMs : DEFAULT_SETTINGS.pollMs,
    theme: data.theme === "light" || data.theme === "dark" || data.theme === "system" ? data.theme : DEFAULT_SETTINGS.theme,
    readOnly: typeof data.readOnly === "boolean" ? data.readOnly : DEFAULT_SETTINGS.readOnly,
  };
}

const listeners = new Set<() => void>();
let current: Settings = parseSettings(typeof localStorage === "undefined" ? null : localStorage.getItem(STORAGE_KEY));

export function getSettings(): Settings {
  return current;
}

export function updateSettings(patch: Partial<Settings>): void {
  current = { ...current, ...patch };
  localStorage.setItem(STORAGE_KEY, JSON.stringify(current));
  applyTheme(current.theme);
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

if (typeof window !== "undefined") {
  window.addEventListener("storage", (event) => {
    if (event.key !== STORAGE_KEY) return;
    current = parseSettings(event.newValue);
    applyTheme(current.theme);
    for (const listener of listeners) listener();
  });
}

export function useSettings(): Settings {
  return useSyncExternalStore(subscribe, getSettings);
}

export function isDark(theme: Theme): boolean {
  return theme === "dark" || (theme === "system" && typeof matchMedia !== "undefined" && matchMedia("(prefers-color-scheme: dark)").matches);
}

export function applyTheme(theme: Theme): void {
  if (typeof document !== "undefined") document.documentElement.classList.toggle("dark", isDark(theme));
}
