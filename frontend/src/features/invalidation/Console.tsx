import { useEffect, useState } from "react";
import { ApiError } from "../../api/client";
import { invalidatePattern, invalidateTags } from "../../api/invalidation";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ProgressBar } from "../../components/ProgressBar";
import { ErrorBox } from "../../components/ui";
import { useAccess } from "../../lib/access";
import { confirmRule } from "../../lib/confirm";
import { formatDuration, formatNumber } from "../../lib/format";
import { follow, invalidateKeyList, type Progress } from "../../lib/run-invalidation";
import { splitList, TEMPLATES, type ConsoleState, type SetConsoleState } from "./state";
import { usePreview } from "./use-preview";

/** The Invalidate tab: keys, pattern or tags; the live preview; dry run; typed confirmation; progress. */
export function Console({ state, setState }: { state: ConsoleState; setState: SetConsoleState }) {
  const access = useAccess();
  const canWrite = access.can("operator");
  const [draft, setDraft] = useState(state.target);
  const [reason, setReason] = useState("");
  const [confirming, setConfirming] = useState<{ dryRun: boolean } | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  useEffect(() => setDraft(state.target), [state.target, state.mode]);
  useEffect(() => {
    const t = setTimeout(() => draft !== state.target && setState({ target: draft }, { replace: true }), 300);
    return () => clearTimeout(t);
  }, [draft]); // only the draft: the URL catches up with what is typed

  const preview = usePreview(draft, state.mode === "pattern");
  const items = state.mode === "pattern" ? [] : splitList(draft);
  const count = state.mode === "keys" ? items.length : state.mode === "pattern" ? (preview.data?.matched ?? null) : null;
  const rule = confirmRule(count, state.mode === "pattern" ? draft.trim() : undefined, { threshold: preview.data?.confirmThreshold });
  const ready = state.mode === "pattern" ? draft.trim() !== "" : items.length > 0;
  const busy = progress?.phase === "submitting" || progress?.phase === "running";

  const submit = async (dryRun: boolean) => {
    setProgress({ phase: "submitting", fraction: null, text: "Submitting…" });
    const why = reason.trim() || undefined;
    try {
      if (state.mode === "keys") {
        if (dryRun) throw new ApiError(400, "invalid_argument", "dry-run by keys needs the invalidation service");
        await invalidateKeyList(items, why ?? "dashboard: console", setProgress);
      } else {
        const accepted =
          state.mode === "pattern"
            ? await invalidatePattern({ pattern: draft.trim(), reason: why, dryRun, confirm: rule.serverConfirm || undefined })
            : await invalidateTags({ tags: items, reason: why, dryRun });
        const record = await follow(accepted, setProgress);
        const failed = record.status === "failed";
        setProgress({
          phase: failed ? "failed" : "done",
          fraction: 1,
          record,
          text: failed
            ? `Failed: ${record.error ?? "see the audit trail"}`
            : dryRun
              ? `Dry run: ${formatNumber(record.matched ?? 0)} keys would be invalidated`
              : `Invalidated ${formatNumber(record.deleted ?? 0)} keys`,
        });
      }
    } catch (e) {
      setProgress({ phase: "failed", fraction: null, text: e instanceof Error ? e.message : String(e) });
    }
    setConfirming(null);
  };

  return (
    <div className="grid gap-4 xl:grid-cols-[minmax(0,1fr)_22rem]">
      <section className="card space-y-3" aria-label="Invalidate">
        <div role="radiogroup" aria-label="Invalidate by" className="flex gap-4 text-sm">
          {(["keys", "pattern", "tags"] as const).map((m) => (
            <label key={m} className="flex items-center gap-1.5">
              <input
                type="radio"
                name="mode"
                checked={state.mode === m}
                onChange={() => {
                  setDraft("");
                  setState({ mode: m, target: "" });
                }}
              />{" "}
              {m === "keys" ? "Keys" : m === "pattern" ? "Pattern" : "Tags"}
            </label>
          ))}
        </div>
        {state.mode === "pattern" ? (
          <input
            aria-label="Pattern"
            className="input w-full font-mono"
            placeholder="product:* — glob: * ? [a-z] \\x"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
        ) : (
          <textarea
            aria-label={state.mode === "keys" ? "Keys" : "Tags"}
            className="input h-28 w-full font-mono"
            placeholder={state.mode === "keys" ? "one key per line" : "one tag per line"}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
        )}
        {state.mode === "pattern" && (
          <div className="flex flex-wrap gap-2" aria-label="Templates">
            {TEMPLATES.map((t) => (
              <button key={t.pattern} className="btn px-2 py-1 text-xs" onClick={() => setDraft(t.pattern)} title={t.pattern}>
                {t.label}
              </button>
            ))}
          </div>
        )}
        <input
          aria-label="Reason"
          className="input w-full"
          placeholder="Reason (kept in the audit trail)"
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
        <div className="flex flex-wrap gap-2">
          <button className="btn" disabled={!ready || busy || !canWrite || state.mode === "keys"} onClick={() => void submit(true)}>
            Dry run
          </button>
          <button className="btn-danger" disabled={!ready || busy || !canWrite} onClick={() => setConfirming({ dryRun: false })}>
            Invalidate…
          </button>
          {!canWrite && <span className="self-center text-xs text-muted">{access.readOnly ? "Read-only mode is on." : "Needs an operator token."}</span>}
        </div>
        {progress && (
          <div
            role="status"
            className={`rounded-md border p-3 text-sm ${progress.phase === "failed" ? "border-danger/50 text-danger" : "border-line"}`}
            data-testid="console-result"
          >
            {busy ? <ProgressBar fraction={progress.fraction} label={progress.text} /> : progress.text}
            {progress.record && !busy && (
              <p className="mt-1 text-xs text-muted">
                request {progress.record.id} · matched {progress.record.matched ?? "?"} · deleted {progress.record.deleted ?? "?"}
                {progress.record.liveInstances != null
                  ? ` · ${progress.record.liveInstances} live ${progress.record.liveInstances === 1 ? "instance" : "instances"}`
                  : ""}
                {progress.record.durationMs != null ? ` · ${formatDuration(progress.record.durationMs)}` : ""}
              </p>
            )}
          </div>
        )}
      </section>
      <section className="card space-y-2 text-sm" aria-label="Preview" data-testid="preview">
        <h2 className="label">Preview</h2>
        {state.mode === "keys" && <p>{formatNumber(items.length)} keys</p>}
        {state.mode === "tags" && <p>{formatNumber(items.length)} tags · key count known after a dry run</p>}
        {state.mode === "pattern" && (
          <>
            <ErrorBox error={preview.error} what="Preview" />
            {preview.data && (
              <>
                <p data-testid="preview-count">
                  <strong>
                    {preview.data.exact ? "" : "≈ "}
                    {formatNumber(preview.data.matched)}
                  </strong>{" "}
                  keys match {preview.data.exact ? "(exact)" : `(estimated from ${formatNumber(preview.data.scanned)} scanned)`}
                </p>
                <ul tabIndex={0} aria-label="Sample of matching keys" className="max-h-64 overflow-auto font-mono text-xs text-muted">
                  {preview.data.sample.map((k) => (
                    <li key={k}>{k}</li>
                  ))}
                </ul>
              </>
            )}
            {!draft.trim() && <p className="text-muted">Type a pattern to see how many keys it matches.</p>}
          </>
        )}
      </section>
      {confirming && (
        <ConfirmDialog
          title="Invalidate?"
          phrase={rule.typed ? rule.phrase : undefined}
          actionLabel="Invalidate"
          busy={busy}
          onCancel={() => setConfirming(null)}
          onConfirm={() => void submit(false)}
        >
          <p>
            {state.mode === "pattern" ? (
              <>
                Every key matching <span className="font-mono">{draft.trim()}</span> (
                {count === null ? "count unknown" : `${preview.data?.exact === false ? "about " : ""}${formatNumber(count)} keys`})
              </>
            ) : state.mode === "keys" ? (
              `${formatNumber(items.length)} keys`
            ) : (
              `Every key tagged ${items.join(", ")}`
            )}{" "}
            will be removed from L2 and from every instance's L1.
          </p>
          {busy && progress && <ProgressBar fraction={progress.fraction} label={progress.text} />}
        </ConfirmDialog>
      )}
    </div>
  );
}
