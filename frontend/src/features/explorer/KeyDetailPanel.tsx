import { Check, Copy, Trash2, X } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import useSWR from "swr";
import { paths, readValue, type KeyDetail } from "../../api/cache";
import { Badge, ErrorBox } from "../../components/ui";
import { formatBytes, formatTtl, prettyJson, ttlNow } from "../../lib/format";
import { useNow } from "../../lib/visibility";

interface Props {
  keyName: string;
  canInvalidate: boolean;
  onClose: () => void;
  onInvalidate: (key: string) => void;
}

/** One key: tiers, TTL, size, tags and its value pretty-printed; "load all" past the 1 KiB preview. */
export function KeyDetailPanel({ keyName, canInvalidate, onClose, onInvalidate }: Props) {
  const { data, error, isLoading } = useSWR<KeyDetail>(paths.key(keyName));
  const [full, setFull] = useState<{ key: string; text: string } | null>(null);
  const [loadingAll, setLoadingAll] = useState(false);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [copied, setCopied] = useState(false);
  const [fetchedAt] = useState(() => Date.now());
  const now = useNow(1_000);
  const panel = useRef<HTMLElement>(null);

  // Below the two-column breakpoint the panel sits under the key list: bring it into view.
  useEffect(() => {
    if (typeof matchMedia !== "undefined" && matchMedia("(max-width: 1023px)").matches) panel.current?.scrollIntoView?.({ block: "start" });
  }, [keyName]);

  const fullText = full?.key === keyName ? full.text : null;
  const text = fullText ?? (data ? prettyJson(data.preview) : "");

  const loadAll = async () => {
    setLoadingAll(true);
    setLoadError(null);
    try {
      const entry = await readValue(keyName);
      setFull({ key: keyName, text: JSON.stringify(entry.value, null, 2) });
    } catch (e) {
      setLoadError(e);
    } finally {
      setLoadingAll(false);
    }
  };

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };

  return (
    <aside ref={panel} aria-label={`Key ${keyName}`} className="card min-w-0 flex min-h-0 flex-col gap-3" data-testid="key-detail">
      <div className="flex items-start justify-between gap-2">
        <h2 className="break-all font-mono text-sm font-semibold">{keyName}</h2>
        <button className="btn px-1.5" onClick={onClose} aria-label="Close key details">
          <X aria-hidden className="size-4" />
        </button>
      </div>
      {isLoading && <p className="text-sm text-muted">Loading…</p>}
      <ErrorBox error={error} what="Key" />
      {data && (
        <>
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
            <dt className="text-muted">Tiers</dt>
            <dd className="flex gap-1">
              {data.tiers.map((t) => (
                <Badge key={t} tone={t === "l1" ? "ok" : "accent"}>
                  {t.toUpperCase()}
                </Badge>
              ))}
              {data.negative && <Badge tone="warn">negative</Badge>}
            </dd>
            <dt className="text-muted">TTL</dt>
            <dd className="tabular-nums">{formatTtl(ttlNow(data.ttlMs, fetchedAt, now))}</dd>
            <dt className="text-muted">Size</dt>
            <dd title={`${data.sizeBytes.toLocaleString("en-US")} bytes stored; value ${data.valueBytes.toLocaleString("en-US")} bytes of JSON`}>
              {formatBytes(data.sizeBytes)} <span className="text-muted">(value {formatBytes(data.valueBytes)})</span>
            </dd>
            <dt className="text-muted">Tags</dt>
            <dd>{data.tags.length ? data.tags.join(", ") : <span className="text-muted">none</span>}</dd>
          </dl>
          <div className="flex flex-wrap gap-2">
            <button className="btn" onClick={copy} aria-label="Copy the value">
              {copied ? <Check aria-hidden className="size-4 text-ok" /> : <Copy aria-hidden className="size-4" />} {copied ? "Copied" : "Copy"}
            </button>
            {data.truncated && !fullText && (
              <button className="btn" onClick={loadAll} disabled={loadingAll}>
                {loadingAll ? "Loading…" : `Load all (${formatBytes(data.valueBytes)})`}
              </button>
            )}
            {canInvalidate && (
              <button className="btn text-danger" onClick={() => onInvalidate(keyName)}>
                <Trash2 aria-hidden className="size-4" /> Invalidate
              </button>
            )}
          </div>
          <ErrorBox error={loadError} what="Load all" />
          {data.truncated && !fullText && <p className="text-xs text-muted">Showing the first 1 KiB of {data.valueBytes.toLocaleString("en-US")} bytes.</p>}
          <pre
            aria-label="Value"
            className="max-h-[50vh] min-h-24 overflow-auto rounded-md border border-line bg-bg p-3 font-mono text-xs"
            data-testid="key-value"
          >
            {text}
          </pre>
        </>
      )}
    </aside>
  );
}
