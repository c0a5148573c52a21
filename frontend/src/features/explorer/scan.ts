/**
 * SCAN paging for the explorer. A SCAN call may return few or no keys with more to come, so one
 * explorer page keeps scanning until it holds `want` keys, the scan ends, or `maxCalls` calls
 * were made (bounded: a sparse pattern over a huge keyspace must not spin forever).
 */
import type { KeyPage, ListedKey } from "../../api/cache";

export interface CollectedPage {
  keys: ListedKey[];
  /** "0" when the scan is complete. */
  cursor: string;
  scanned: number;
  calls: number;
  /** Date.now() when the page arrived: TTLs count down from here. */
  fetchedAt: number;
}

export type ListFn = (match: string, cursor: string, count: number) => Promise<KeyPage>;

export async function collectPage(
  list: ListFn,
  match: string,
  cursor: string,
  want: number,
  maxCalls = 20,
  now: () => number = Date.now,
): Promise<CollectedPage> {
  const keys: ListedKey[] = [];
  const seen = new Set<string>();
  let next = cursor;
  let scanned = 0;
  let calls = 0;
  do {
    const page = await list(match, next, Math.max(want - keys.length, 10));
    calls++;
    scanned += page.scanned;
    for (const key of page.keys) {
      // SCAN may return a key twice across calls; show it once.
      if (!seen.has(key.key)) {
        seen.add(key.key);
        keys.push(key);
      }
    }
    next = page.cursor;
  } while (next !== "0" && keys.length < want && calls < maxCalls);
  return { keys, cursor: next, scanned, calls, fetchedAt: now() };
}

/** Every key of the filter, up to `limit` (for CSV export). */
export async function collectAll(
  list: ListFn,
  match: string,
  limit: number,
  onProgress?: (count: number) => void,
): Promise<{ keys: ListedKey[]; complete: boolean }> {
  const keys: ListedKey[] = [];
  const seen = new Set<string>();
  let cursor = "0";
  do {
    const page = await list(match, cursor, 1000);
    for (const key of page.keys) {
      if (seen.has(key.key)) continue;
      seen.add(key.key);
      keys.push(key);
    }
    cursor = page.cursor;
    onProgress?.(keys.length);
  } while (cursor !== "0" && keys.length < limit);
  return { keys: keys.slice(0, limit), complete: cursor === "0" && keys.length <= limit };
}
