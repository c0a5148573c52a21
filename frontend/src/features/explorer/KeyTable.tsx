import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef } from "react";
import type { ListedKey } from "../../api/cache";
import { Badge } from "../../components/ui";
import { formatBytes, formatTtl, ttlNow } from "../../lib/format";
import { useNow } from "../../lib/visibility";

export interface Row extends ListedKey {
  fetchedAt: number;
}

interface Props {
  rows: Row[];
  selectedKey: string;
  checked: ReadonlySet<string>;
  selectable: boolean;
  onOpen: (key: string) => void;
  onToggle: (key: string) => void;
  onToggleAll: () => void;
}

const ROW_HEIGHT = 36;
// Key and tags share what is left 2:1, so a narrow list (detail panel open) still shows the keys.
// On a phone only the key and its TTL stay; tiers, size and tags are in the key's detail panel.
const GRID = "grid grid-cols-[2rem_minmax(0,1fr)_5.5rem] sm:grid-cols-[2rem_minmax(0,2fr)_6rem_7rem_5.5rem_minmax(0,1fr)] items-center gap-2";
const SECONDARY = "hidden sm:block";

/**
 * A key that loses its middle, not its end, when the column is narrow (a phone): keys sharing a
 * long prefix differ at the end. The text is whole in the DOM (copy, accessible name); only the
 * head is clipped with an ellipsis.
 */
function KeyText({ name }: { name: string }) {
  const tail = Math.min(12, Math.floor(name.length / 2));
  return (
    <>
      <span className="truncate">{name.slice(0, name.length - tail)}</span>
      <span className="shrink-0 whitespace-pre">{name.slice(name.length - tail)}</span>
    </>
  );
}

/** The key list: virtualized (only visible rows are in the DOM), TTLs counting down. */
export function KeyTable({ rows, selectedKey, checked, selectable, onOpen, onToggle, onToggleAll }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const now = useNow(1_000);
  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 10 });
  const allChecked = rows.length > 0 && rows.every((r) => checked.has(r.key));

  return (
    <div role="table" aria-label="Keys" aria-rowcount={rows.length + 1} className="overflow-hidden rounded-lg border border-line bg-panel">
      <div role="row" className={`${GRID} border-b border-line px-3 py-2 text-xs font-medium uppercase tracking-wide text-muted`}>
        <span role="columnheader">
          {selectable && <input type="checkbox" aria-label="Select all loaded keys" checked={allChecked} onChange={onToggleAll} />}
        </span>
        <span role="columnheader">Key</span>
        <span role="columnheader" className={SECONDARY}>
          Tiers
        </span>
        <span role="columnheader">TTL</span>
        <span role="columnheader" className={`${SECONDARY} text-right`}>
          Size
        </span>
        <span role="columnheader" className={SECONDARY}>
          Tags
        </span>
      </div>
      <div ref={scroller} className="h-[min(60vh,560px)] overflow-y-auto" data-testid="key-scroller">
        <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
          {virtual.getVirtualItems().map((item) => {
            const row = rows[item.index];
            const ttl = ttlNow(row.ttlMs, row.fetchedAt, now);
            const selected = row.key === selectedKey;
            return (
              <div
                key={row.key}
                role="row"
                aria-rowindex={item.index + 2}
                aria-selected={selected}
                data-key={row.key}
                className={`${GRID} absolute inset-x-0 cursor-pointer border-b border-line/60 px-3 text-sm ${selected ? "bg-accent/10" : "hover:bg-line/40"}`}
                style={{ height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                onClick={() => onOpen(row.key)}
              >
                <span role="cell" onClick={(e) => e.stopPropagation()}>
                  {selectable && <input type="checkbox" aria-label={`Select ${row.key}`} checked={checked.has(row.key)} onChange={() => onToggle(row.key)} />}
                </span>
                <span role="cell" className="min-w-0 font-mono" title={row.key}>
                  <button
                    className="flex max-w-full min-w-0 text-left hover:underline"
                    // The row opens on click too: without stopping here one click opened it twice (two history entries).
                    onClick={(e) => {
                      e.stopPropagation();
                      onOpen(row.key);
                    }}
                    aria-label={`Open ${row.key}`}
                  >
                    <KeyText name={row.key} />
                  </button>
                </span>
                <span role="cell" className="hidden gap-1 sm:flex">
                  {row.tiers.map((t) => (
                    <Badge key={t} tone={t === "l1" ? "ok" : "accent"}>
                      {t.toUpperCase()}
                    </Badge>
                  ))}
                </span>
                <span role="cell" className={`tabular-nums ${ttl === 0 ? "text-danger" : ""}`} data-testid="ttl">
                  {formatTtl(ttl)}
                </span>
                <span role="cell" className={`${SECONDARY} text-right tabular-nums`} title={`${row.sizeBytes.toLocaleString("en-US")} bytes`}>
                  {formatBytes(row.sizeBytes)}
                </span>
                <span role="cell" className={`${SECONDARY} truncate text-xs text-muted`} title={row.tags.join(", ")}>
                  {row.tags.join(", ")}
                </span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
