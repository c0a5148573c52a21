/**
 * The `hot` source's predictions, as pure functions over cache-manager's hot-key statistics and
 * the recorded history:
 * - refresh-ahead: hot keys whose TTL runs out soon (or already ran out) are reloaded before the
 *   next reader misses;
 * - time of day: keys that were hot around the same local time on previous days are loaded
 *   before that time comes again.
 */

const DAY_MS = 24 * 3600_000;

/** A hot key with its remaining L2 TTL: -1 = no expiry, -2 = not cached (expired or evicted). */
export interface HotKeyTtl {
  key: string;
  count: number;
  ttlMs: number;
}

export const NOT_CACHED = -2;
export const NO_EXPIRY = -1;

/** True when a key should be reloaded now: it is gone, or its TTL ends within `refreshAheadMs`. */
export function needsRefresh(ttlMs: number, refreshAheadMs: number): boolean {
  return ttlMs === NOT_CACHED || (ttlMs >= 0 && ttlMs <= refreshAheadMs);
}

/** The hot keys to refresh ahead, hottest first, limited to `namespace` when given. */
export function refreshAheadKeys(hot: readonly HotKeyTtl[], options: { refreshAheadMs: number; namespace?: string | null; topN: number }): string[] {
  return [...hot]
    .filter((h) => (!options.namespace || h.key.startsWith(options.namespace)) && needsRefresh(h.ttlMs, options.refreshAheadMs))
    .sort((a, b) => b.count - a.count)
    .slice(0, options.topN)
    .map((h) => h.key);
}

/** The UTC offset of `timeZone` at `epochMs`, in ms (Europe/Berlin in summer: +7,200,000). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(new Date(epochMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - Math.floor(epochMs / 1000) * 1000;
}

/**
 * The time ranges, one per previous day, around the same local time of day as
 * `now + lookaheadMs` in `timeZone` (a DST change between the days is accounted for).
 *
 * @example
 * timeOfDayWindows(Date.parse("2025-06-10T08:00Z"), { days: 2, lookaheadMs: 0, halfWidthMs: 900_000, timeZone: "UTC" })
 * // → [[06-09 07:45, 06-09 08:15], [06-08 07:45, 06-08 08:15]]
 */
export function timeOfDayWindows(now: number, options: { days: number; lookaheadMs: number; halfWidthMs: number; timeZone?: string }): Array<[number, number]> {
  const target = now + options.lookaheadMs;
  const zone = options.timeZone ?? "UTC";
  const targetOffset = zoneOffsetMs(target, zone);
  const windows: Array<[number, number]> = [];
  for (let day = 1; day <= options.days; day++) {
    const naive = target - day * DAY_MS;
    const center = naive + (targetOffset - zoneOffsetMs(naive, zone));
    windows.push([center - options.halfWidthMs, center + options.halfWidthMs]);
  }
  return windows;
}

/** Sums observation counts per key and returns the `topN` keys, highest first. */
export function rankObservations(rows: ReadonlyArray<{ key: string; count: number }>, topN: number): string[] {
  const totals = new Map<string, number>();
  for (const { key, count } of rows) totals.set(key, (totals.get(key) ?? 0) + count);
  return [...totals]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, topN)
    .map(([key]) => key);
}

/** The start of the observation bucket holding `epochMs`. */
export function bucketStart(epochMs: number, bucketMs: number): number {
  return Math.floor(epochMs / bucketMs) * bucketMs;
}
