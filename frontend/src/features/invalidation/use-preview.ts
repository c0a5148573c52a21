import { useEffect, useState } from "react";
import useSWR from "swr";
import { invalidationPaths, type PatternPreview } from "../../api/invalidation";

/** The pattern preview, debounced as you type. */
export function usePreview(pattern: string, enabled: boolean) {
  const [debounced, setDebounced] = useState(pattern);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(pattern), 300);
    return () => clearTimeout(t);
  }, [pattern]);
  return useSWR<PatternPreview>(enabled && debounced.trim() ? invalidationPaths.preview(debounced.trim(), 10_000) : null, { keepPreviousData: true });
}
