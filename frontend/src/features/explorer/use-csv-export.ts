import { useState } from "react";
import { listKeys } from "../../api/cache";
import { formatNumber, toCsv } from "../../lib/format";
import { collectAll } from "./scan";

const EXPORT_LIMIT = 100_000;

/**
 * CSV export of every key matching a pattern (up to 100,000), scanned afresh, downloaded as a
 * file. `status` says how far the scan is, or why the export stopped short.
 */
export function useCsvExport() {
  const [status, setStatus] = useState<string | null>(null);
  const run = async (match: string) => {
    setStatus("Scanning…");
    try {
      const { keys, complete } = await collectAll(listKeys, match, EXPORT_LIMIT, (n) => setStatus(`Scanning… ${formatNumber(n)} keys`));
      const csv = toCsv(
        ["key", "tiers", "ttl_ms", "size_bytes", "tags"],
        keys.map((k) => [k.key, k.tiers.join(" "), k.ttlMs, k.sizeBytes, k.tags.join(" ")]),
      );
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      link.download = `cachet-keys-${match.replace(/[^\w-]+/g, "_") || "all"}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
      setStatus(complete ? null : `Exported the first ${formatNumber(EXPORT_LIMIT)} keys only.`);
    } catch (e) {
      setStatus(`Export failed: ${(e as Error).message}`);
    }
  };
  return { status, busy: status?.startsWith("Scanning") ?? false, run };
}
