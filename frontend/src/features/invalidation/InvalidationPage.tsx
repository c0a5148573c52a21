import { ShieldAlert, ShieldCheck } from "lucide-react";
import { useEffect, useState } from "react";
import useSWR from "swr";
import { ApiError } from "../../api/client";
import { invalidatePattern, invalidateTags, invalidationPaths, type AuditVerification, type InvalidationPage as AuditPage, type PatternPreview } from "../../api/invalidation";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ProgressBar } from "../../components/ProgressBar";
import { Badge, Empty, ErrorBox, PageHeader, Tabs } from "../../components/ui";
import { useAccess } from "../../lib/access";
import { confirmRule } from "../../lib/confirm";
import { formatDuration, formatNumber } from "../../lib/format";
import { oneOf, text } from "../../lib/url-state";
import { useUrlState } from "../../lib/use-url-state";
import { follow, invalidateKeyList, type Progress } from "./run";

const schema = {
  tab: oneOf(["invalidate", "audit"], "invalidate"),
  mode: oneOf(["keys", "pattern", "tags"], "pattern"),
  target: text(""),
  actor: text(""),
  kind: text(""),
  status: text(""),
  from: text(""),
  to: text(""),
  cursor: text(""),
};

export const TEMPLATES = [
  { label: "One product", pattern: "product:42" },
  { label: "All products", pattern: "product:*" },
  { label: "A user's keys", pattern: "user:123:*" },
  { label: "Sessions", pattern: "session:*" },
  { label: "Everything", pattern: "*" },
];

/** An audit row's target for display: the pattern, or the keys/tags listed. */
function targetText(target: Record<string, unknown>): string {
  const value = target.pattern ?? target.keys ?? target.tags;
  return Array.isArray(value) ? value.join(", ") : typeof value === "string" ? value : JSON.stringify(target);
}

/** The keys or tags typed in the box (whitespace or comma separated, distinct). */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

export function InvalidationPage() {
  const [state, setState] = useUrlState(schema);
  return (
    <div>
      <PageHeader title="Invalidation Console" description="Invalidate by keys, pattern or tags; every request is audited." />
      <Tabs label="Invalidation views" tabs={[{ id: "invalidate", label: "Invalidate" }, { id: "audit", label: "Audit trail" }]} value={state.tab} onChange={(tab) => setState({ tab })} />
      {state.tab === "invalidate" ? <Console state={state} setState={setState} /> : <Audit state={state} setState={setState} />}
    </div>
  );
}

type State = ReturnType<typeof useUrlState<typeof schema>>[0];
type SetState = ReturnType<typeof useUrlState<typeof schema>>[1];

/** The pattern preview, debounced as you type. */
function usePreview(pattern: string, enabled: boolean) {
  const [debounced, setDebounced] = useState(pattern);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(pattern), 300);
    return () => clearTimeout(t);
  }, [pattern]);
  return useSWR<PatternPreview>(enabled && debounced.trim() ? invalidationPaths.preview(debounced.trim(), 10_000) : null, { keepPreviousData: true });
}

function Console({ state, setState }: { state: State; setState: SetState }) {
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
  const rule = confirmRule(count, state.mode === "pattern" ? draft.trim() : undefined);
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
          text: failed ? `Failed: ${record.error ?? "see the audit trail"}` : dryRun ? `Dry run: ${formatNumber(record.matched ?? 0)} keys would be invalidated` : `Invalidated ${formatNumber(record.deleted ?? 0)} keys`,
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
              <input type="radio" name="mode" checked={state.mode === m} onChange={() => {
                setDraft("");
                setState({ mode: m, target: "" });
              }} /> {m === "keys" ? "Keys" : m === "pattern" ? "Pattern" : "Tags"}
            </label>
          ))}
        </div>
        {state.mode === "pattern" ? (
          <input aria-label="Pattern" className="input w-full font-mono" placeholder="product:* — glob: * ? [a-z] \\x" value={draft} onChange={(e) => setDraft(e.target.value)} />
        ) : (
          <textarea aria-label={state.mode === "keys" ? "Keys" : "Tags"} className="input h-28 w-full font-mono" placeholder={state.mode === "keys" ? "one key per line" : "one tag per line"} value={draft} onChange={(e) => setDraft(e.target.value)} />
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
        <input aria-label="Reason" className="input w-full" placeholder="Reason (kept in the audit trail)" value={reason} onChange={(e) => setReason(e.target.value)} />
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
          <div role="status" className={`rounded-md border p-3 text-sm ${progress.phase === "failed" ? "border-danger/50 text-danger" : "border-line"}`} data-testid="console-result">
            {busy ? <ProgressBar fraction={progress.fraction} label={progress.text} /> : progress.text}
            {progress.record && !busy && (
              <p className="mt-1 text-xs text-muted">
                request {progress.record.id} · matched {progress.record.matched ?? "?"} · deleted {progress.record.deleted ?? "?"}
                {progress.record.liveInstances != null ? ` · ${progress.record.liveInstances} live ${progress.record.liveInstances === 1 ? "instance" : "instances"}` : ""}
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
                  <strong>{preview.data.exact ? "" : "≈ "}{formatNumber(preview.data.matched)}</strong> keys match {preview.data.exact ? "(exact)" : `(estimated from ${formatNumber(preview.data.scanned)} scanned)`}
                </p>
                <ul className="max-h-64 overflow-auto font-mono text-xs text-muted">
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
        <ConfirmDialog title="Invalidate?" phrase={rule.typed ? rule.phrase : undefined} actionLabel="Invalidate" busy={busy} onCancel={() => setConfirming(null)} onConfirm={() => void submit(false)}>
          <p>
            {state.mode === "pattern" ? (
              <>
                Every key matching <span className="font-mono">{draft.trim()}</span> ({count === null ? "count unknown" : `${preview.data?.exact === false ? "about " : ""}${formatNumber(count)} keys`})
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

function Audit({ state, setState }: { state: State; setState: SetState }) {
  const filter = { actor: state.actor, kind: state.kind, status: state.status, from: state.from, to: state.to, cursor: state.cursor };
  const page = useSWR<AuditPage>(invalidationPaths.list(filter));
  const verify = useSWR<AuditVerification>(invalidationPaths.verify, { refreshInterval: 30_000 });
  const items = page.data?.items ?? [];
  const intact = verify.data?.intact;
  return (
    <div className="space-y-3">
      <div className="card flex items-center gap-2 text-sm" data-testid="audit-verify">
        {verify.error ? (
          <ErrorBox error={verify.error} what="Chain verification" />
        ) : intact === undefined ? (
          <span className="text-muted">Verifying the audit chain…</span>
        ) : intact ? (
          <>
            <ShieldCheck aria-hidden className="size-5 text-ok" /> Audit chain intact{verify.data ? ` (${formatNumber(verify.data.checked)} rows checked)` : ""}
          </>
        ) : (
          <>
            <ShieldAlert aria-hidden className="size-5 text-danger" /> Audit chain broken — first bad row: <code>{JSON.stringify(verify.data?.firstBad)}</code>
          </>
        )}
      </div>
      <form className="flex flex-wrap items-end gap-2" aria-label="Audit filters" onSubmit={(e) => e.preventDefault()}>
        {(["actor", "kind", "status"] as const).map((f) => (
          <label key={f} className="flex flex-col text-xs text-muted">
            {f}
            <input className="input mt-1 w-36" aria-label={`Filter by ${f}`} value={state[f]} onChange={(e) => setState({ [f]: e.target.value, cursor: "" }, { replace: true })} />
          </label>
        ))}
        {(["from", "to"] as const).map((f) => (
          <label key={f} className="flex flex-col text-xs text-muted">
            {f}
            <input type="datetime-local" className="input mt-1" aria-label={`Filter ${f}`} value={state[f] ? state[f].slice(0, 16) : ""} onChange={(e) => setState({ [f]: e.target.value ? new Date(e.target.value).toISOString() : "", cursor: "" })} />
          </label>
        ))}
      </form>
      <ErrorBox error={page.error} what="Audit trail" />
      {page.data && items.length === 0 && (
        <div className="card">
          <Empty>No invalidations match.</Empty>
        </div>
      )}
      {items.length > 0 && (
        <div className="card overflow-x-auto p-0">
          <table className="w-full text-sm" aria-label="Audit trail">
            <thead className="text-left text-xs uppercase text-muted">
              <tr className="border-b border-line">
                <th className="px-3 py-2">When</th>
                <th>Actor</th>
                <th>Kind</th>
                <th>Target</th>
                <th>Status</th>
                <th>Matched / deleted</th>
                <th>Duration</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id} className="border-b border-line/60">
                  <td className="px-3 py-2 whitespace-nowrap">{new Date(r.requestedAt).toLocaleString()}</td>
                  <td>{r.actor}</td>
                  <td>
                    {r.kind} {r.dryRun && <Badge>dry run</Badge>}
                  </td>
                  <td className="max-w-64 truncate font-mono text-xs" title={targetText(r.target)}>
                    {targetText(r.target)}
                  </td>
                  <td>
                    <Badge tone={r.status === "completed" ? "ok" : r.status === "failed" ? "danger" : "warn"}>{r.status}</Badge>
                  </td>
                  <td className="tabular-nums">
                    {r.matched ?? "—"} / {r.deleted ?? "—"}
                  </td>
                  <td>{r.durationMs != null ? formatDuration(r.durationMs) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="flex gap-2">
        {state.cursor && (
          <button className="btn" onClick={() => setState({ cursor: "" })}>
            Newest
          </button>
        )}
        {page.data?.nextCursor && (
          <button className="btn" onClick={() => setState({ cursor: page.data!.nextCursor! })}>
            Older
          </button>
        )}
      </div>
    </div>
  );
}
