/** How the cache policy's settings read in the Settings page: one short phrase per field. */
import type { PolicySettings } from "../../api/policy";
import { formatBytes, formatNumber, formatTtl } from "../../lib/format";

/** `{policy: "lru", maxEntries: 5000}` → "lru · 5,000 entries"; null → "defaults". */
export function describeSettings(settings: PolicySettings | null): string {
  if (!settings) return "defaults";
  const parts: string[] = [];
  if (settings.policy) parts.push(settings.policy);
  if (settings.maxEntries !== undefined) parts.push(`${formatNumber(settings.maxEntries, 0)} entries`);
  if (settings.maxBytes !== undefined) parts.push(formatBytes(settings.maxBytes));
  if (settings.defaultTtlMs !== undefined) parts.push(`TTL ${formatTtl(settings.defaultTtlMs)}`);
  if (settings.l3 !== undefined) parts.push(`L3 ${settings.l3 ? "on" : "off"}`);
  if (settings.l3RetentionMs !== undefined) parts.push(`retention ${formatTtl(settings.l3RetentionMs)}`);
  return parts.join(" · ");
}

/** A number typed in a form, in `unit`s, as an integer count of the base unit; undefined when left empty. */
export function fromUnits(text: string, unit: number): number | undefined {
  const trimmed = text.trim();
  return trimmed === "" ? undefined : Math.round(Number(trimmed) * unit);
}

/** The inverse of `fromUnits` for a form's initial value. */
export const toUnits = (value: number | undefined, unit: number): string => (value === undefined ? "" : String(Math.round((value / unit) * 1000) / 1000));
