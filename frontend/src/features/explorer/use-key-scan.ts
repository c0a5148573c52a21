import { useEffect, useMemo } from "react";
import useSWRInfinite from "swr/infinite";
import { listKeys, PAGE_SIZE } from "../../api/cache";
import type { Row } from "./KeyTable";
import { collectPage, type CollectedPage } from "./scan";

/**
 * The explorer's key list: `pages` SCAN pages of at least PAGE_SIZE keys for `match`, each page
 * following the previous one's cursor, merged into rows without duplicates.
 */
export function useKeyScan(match: string, pages: number) {
  const { data, error, isLoading, isValidating, size, setSize, mutate } = useSWRInfinite<CollectedPage>(
    (index, previous: CollectedPage | null) => (previous && previous.cursor === "0" ? null : ["keys", match, index, previous?.cursor ?? "0"]),
    ([, pattern, , cursor]: [string, string, number, string]) => collectPage(listKeys, pattern, cursor, PAGE_SIZE),
    { revalidateFirstPage: false, revalidateOnFocus: false },
  );

  // The number of loaded pages lives in the URL ("pages"), so a reload restores the list. Pages
  // follow each other's cursors anyway: growing before page 1 has arrived only fetched it twice.
  useEffect(() => {
    if (size !== pages && !isLoading) void setSize(pages);
  }, [pages, size, setSize, isLoading]);

  const rows: Row[] = useMemo(() => {
    const seen = new Set<string>();
    const out: Row[] = [];
    for (const page of data ?? []) {
      for (const key of page.keys) {
        if (seen.has(key.key)) continue;
        seen.add(key.key);
        out.push({ ...key, fetchedAt: page.fetchedAt });
      }
    }
    return out;
  }, [data]);

  return {
    rows,
    error,
    isLoading,
    isValidating,
    /** The scan reached the end of the keyspace. */
    complete: data?.[data.length - 1]?.cursor === "0",
    scanned: (data ?? []).reduce((n, p) => n + p.scanned, 0),
    reload: mutate,
  };
}
