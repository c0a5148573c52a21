import { Download, RefreshCw, Search, Trash2 } from "lucide-react";
import { useEffect, useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ProgressBar } from "../../components/ProgressBar";
import { Empty, ErrorBox, PageHeader } from "../../components/ui";
import { useAccess } from "../../lib/access";
import { confirmRule } from "../../lib/confirm";
import { formatNumber } from "../../lib/format";
import { useEscape } from "../../lib/keyboard";
import { int, text } from "../../lib/url-state";
import { useUrlState } from "../../lib/use-url-state";
import { invalidateKeyList, type Progress } from "../../lib/run-invalidation";
import { KeyDetailPanel } from "./KeyDetailPanel";
import { KeyTable } from "./KeyTable";
import { useCsvExport } from "./use-csv-export";
import { useKeyScan } from "./use-key-scan";

export const explorerSchema = { match: text("*"), pages: int(1, { min: 1, max: 50 }), key: text("") };

export function ExplorerPage() {
  const [state, setState] = useUrlState(explorerSchema);
  const access = useAccess();
  const canInvalidate = access.can("operator");
  const [draft, setDraft] = useState(state.match);
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState<string[] | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const csv = useCsvExport();

  useEffect(() => setDraft(state.match), [state.match]);

  const { rows, error, isLoading, isValidating, complete, scanned, reload } = useKeyScan(state.match, state.pages);

  useEscape(() => {
    setChecked(new Set());
    if (state.key) setState({ key: "" });
  });

  const search = (match: string) => {
    setChecked(new Set());
    setState({ match: match.trim() || "*", pages: 1, key: "" });
  };

  const toggle = (key: string) =>
    setChecked((current) => {
      const next = new Set(current);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const runInvalidation = async (keys: string[]) => {
    const result = await invalidateKeyList(keys, `dashboard: explorer (${keys.length} keys)`, setProgress);
    setConfirming(null);
    if (result.phase === "done") {
      setChecked(new Set());
      if (keys.includes(state.key)) setState({ key: "" });
    }
    await reload();
  };

  const rule = confirming ? confirmRule(confirming.length) : null;

  return (
    <div>
      <PageHeader title="Cache Explorer" description="Keys in L2 (SCAN, never KEYS), with L1 presence, TTL, size and tags.">
        <button className="btn" onClick={() => void reload()} disabled={isValidating}>
          <RefreshCw aria-hidden className={`size-4 ${isValidating ? "animate-spin" : ""}`} /> Refresh
        </button>
        <button className="btn" onClick={() => void csv.run(state.match)} disabled={csv.busy} title="Every key matching the pattern, up to 100,000">
          <Download aria-hidden className="size-4" /> Export CSV
        </button>
      </PageHeader>

      <form
        role="search"
        className="mb-3 flex min-w-0 gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          search(draft);
        }}
      >
        <input
          aria-label="Key pattern"
          className="input min-w-0 flex-1 font-mono"
          placeholder="product:* — glob: * ? [a-z]"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit" className="btn-primary">
          <Search aria-hidden className="size-4" /> Search
        </button>
      </form>

      {csv.status && (
        <p role="status" className="mb-2 text-sm text-muted">
          {csv.status}
        </p>
      )}

      <div className="mb-2 flex flex-wrap items-center justify-between gap-2 text-sm text-muted">
        <span data-testid="explorer-count">
          {formatNumber(rows.length)} keys shown · {formatNumber(scanned)} scanned {complete ? "· scan complete" : ""}
        </span>
        {checked.size > 0 && canInvalidate && (
          <span className="flex items-center gap-2">
            <span>{checked.size} selected</span>
            <button className="btn text-danger" onClick={() => setConfirming([...checked])}>
              <Trash2 aria-hidden className="size-4" /> Invalidate selected
            </button>
            <button className="btn" onClick={() => setChecked(new Set())}>
              Clear selection
            </button>
          </span>
        )}
      </div>

      {progress && progress.phase !== "submitting" && !confirming && (
        <div role="status" className={`card mb-3 text-sm ${progress.phase === "failed" ? "border-danger/50" : ""}`} data-testid="invalidation-result">
          {progress.text}
          {progress.errors?.map((e) => (
            <div key={e} className="text-danger">
              {e}
            </div>
          ))}
        </div>
      )}

      <ErrorBox error={error} what="Keys" />

      <div className={`grid gap-4 ${state.key ? "lg:grid-cols-[minmax(0,1fr)_minmax(0,26rem)]" : ""}`}>
        <div className="min-w-0">
          {!isLoading && !error && rows.length === 0 ? (
            <div className="card">
              <Empty>No keys match {state.match}.</Empty>
            </div>
          ) : (
            <KeyTable
              rows={rows}
              selectedKey={state.key}
              checked={checked}
              selectable={canInvalidate}
              onOpen={(key) => setState({ key })}
              onToggle={toggle}
              onToggleAll={() => setChecked(rows.every((r) => checked.has(r.key)) ? new Set() : new Set(rows.map((r) => r.key)))}
            />
          )}
          <div className="mt-3 flex items-center gap-3">
            {!complete && (
              <button className="btn" onClick={() => setState({ pages: state.pages + 1 }, { replace: true })} disabled={isValidating || state.pages >= 50}>
                {isValidating ? "Scanning…" : "Scan more"}
              </button>
            )}
            {isLoading && <span className="text-sm text-muted">Scanning…</span>}
          </div>
        </div>
        {state.key && (
          <KeyDetailPanel
            keyName={state.key}
            canInvalidate={canInvalidate}
            onClose={() => setState({ key: "" })}
            onInvalidate={(key) => setConfirming([key])}
          />
        )}
      </div>

      {confirming && rule && (
        <ConfirmDialog
          title={`Invalidate ${confirming.length} key${confirming.length === 1 ? "" : "s"}?`}
          phrase={rule.typed ? rule.phrase : undefined}
          actionLabel="Invalidate"
          busy={progress?.phase === "submitting" || progress?.phase === "running"}
          onCancel={() => setConfirming(null)}
          onConfirm={() => void runInvalidation(confirming)}
        >
          <p>
            {confirming.length === 1 ? <span className="font-mono">{confirming[0]}</span> : `${confirming.length} keys`} will be removed from L2 and from every
            instance's L1.
          </p>
          {confirming.length > 1 && (
            <p className="max-h-24 overflow-auto font-mono text-xs text-muted">
              {confirming.slice(0, 20).join(", ")}
              {confirming.length > 20 ? ", …" : ""}
            </p>
          )}
          {progress && (progress.phase === "running" || progress.phase === "submitting") && <ProgressBar fraction={progress.fraction} label={progress.text} />}
        </ConfirmDialog>
      )}
    </div>
  );
}
