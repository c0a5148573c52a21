import { useEffect, useState } from "react";
import { ApiError } from "../../api/client";
import { schedulePreview, SOURCE_TYPES, type JobInput, type SchedulePreview, type SourceType, type WarmingJob } from "../../api/warming";
import { ErrorBox } from "../../components/ui";

interface Props {
  job?: WarmingJob;
  onSave: (input: JobInput) => Promise<void>;
  onCancel: () => void;
}

/** Builds the request body from the form fields (pure; unit-tested). */
export function jobInputFromForm(f: FormState): JobInput {
  const num = (s: string) => (s.trim() === "" ? undefined : Number(s));
  const source: JobInput["source"] = { type: f.sourceType };
  if (f.sourceType === "keys") source.keys = f.keys.split(/[\s,]+/).filter(Boolean);
  if (f.sourceType === "origin" && num(f.limit) !== undefined) source.limit = num(f.limit);
  if (f.sourceType === "hot" && num(f.topN) !== undefined) source.topN = num(f.topN);
  if (f.sourceType === "snapshot") source.action = f.snapshotAction;
  if (f.sourceType === "l3") source.pattern = f.pattern.trim();
  return {
    name: f.name.trim(),
    enabled: f.enabled,
    schedule: f.schedule.trim(),
    timeZone: f.timeZone.trim() || "UTC",
    source,
    namespace: f.namespace.trim() || undefined,
    priority: num(f.priority),
    batchSize: num(f.batchSize),
    concurrency: num(f.concurrency),
    // Entries restored from L3 keep their own expiry: the service refuses a TTL with that source.
    ttlSeconds: f.sourceType === "l3" ? undefined : num(f.ttlSeconds),
  };
}

export interface FormState {
  name: string;
  enabled: boolean;
  schedule: string;
  timeZone: string;
  sourceType: SourceType;
  keys: string;
  limit: string;
  topN: string;
  snapshotAction: "save" | "restore";
  pattern: string;
  namespace: string;
  priority: string;
  batchSize: string;
  concurrency: string;
  ttlSeconds: string;
}

export function formFromJob(job?: WarmingJob): FormState {
  const str = (n: number | undefined) => (n === undefined ? "" : String(n));
  return {
    name: job?.name ?? "",
    enabled: job?.enabled ?? true,
    schedule: job?.schedule ?? "*/15 * * * *",
    timeZone: job?.timeZone ?? (Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"),
    sourceType: job?.source.type ?? "keys",
    keys: job?.source.keys?.join("\n") ?? "",
    limit: str(job?.source.limit),
    topN: str(job?.source.topN),
    snapshotAction: job?.source.action ?? "save",
    pattern: job?.source.pattern ?? "",
    namespace: job?.namespace ?? "",
    priority: str(job?.priority ?? 5),
    batchSize: str(job?.batchSize ?? 100),
    concurrency: str(job?.concurrency ?? 4),
    ttlSeconds: str(job?.ttlSeconds),
  };
}

/** Cron validation as you type: the service's own parser answers with the next 5 runs or what is wrong. */
function useSchedulePreview(cron: string, tz: string) {
  const [state, setState] = useState<{ preview?: SchedulePreview; error?: string; checking: boolean }>({ checking: false });
  useEffect(() => {
    if (!cron.trim()) {
      setState({ checking: false });
      return;
    }
    let live = true;
    setState((s) => ({ ...s, checking: true }));
    const timer = setTimeout(() => {
      schedulePreview(cron.trim(), tz.trim() || "UTC")
        .then((preview) => live && setState({ preview, checking: false }))
        .catch((e: unknown) => live && setState({ error: e instanceof ApiError ? e.message : String(e), checking: false }));
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [cron, tz]);
  return state;
}

export function JobForm({ job, onSave, onCancel }: Props) {
  const [f, setF] = useState<FormState>(() => formFromJob(job));
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const preview = useSchedulePreview(f.schedule, f.timeZone);
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setF((cur) => ({ ...cur, [k]: v }));
  const field = (label: string, k: keyof FormState, props: Record<string, unknown> = {}) => (
    <label className="flex flex-col gap-1 text-xs text-muted">
      {label}
      <input className="input" value={String(f[k])} onChange={(e) => set(k, e.target.value as never)} {...props} />
    </label>
  );

  return (
    <form
      aria-label={job ? `Edit job ${job.name}` : "New warming job"}
      className="card space-y-4"
      onSubmit={async (e) => {
        e.preventDefault();
        setSaving(true);
        setError(null);
        try {
          await onSave(jobInputFromForm(f));
        } catch (err) {
          setError(err);
        } finally {
          setSaving(false);
        }
      }}
    >
      <h2 className="font-medium">{job ? `Edit “${job.name}”` : "New warming job"}</h2>
      <div className="grid gap-3 md:grid-cols-2">
        {field("Name", "name", { required: true, maxLength: 100 })}
        <label className="flex items-center gap-2 self-end text-sm">
          <input type="checkbox" checked={f.enabled} onChange={(e) => set("enabled", e.target.checked)} /> Enabled
        </label>
        {field("Schedule (5-field cron; empty: run by trigger only)", "schedule", { className: "input font-mono", "aria-invalid": Boolean(preview.error) })}
        {field("Time zone (IANA)", "timeZone")}
      </div>
      <div aria-live="polite" className="text-sm" data-testid="cron-preview">
        {preview.checking && <span className="text-muted">Checking…</span>}
        {!preview.checking && preview.error && (
          <span className="text-danger" data-testid="cron-error">
            {preview.error}
          </span>
        )}
        {!preview.checking && preview.preview && (
          <div>
            <span className="text-muted">Next runs ({preview.preview.timeZone}):</span>
            <ol className="mt-1 list-decimal pl-5 tabular-nums" data-testid="cron-next">
              {preview.preview.next.map((t) => (
                <li key={t}>{new Date(t).toLocaleString([], { timeZone: preview.preview!.timeZone, dateStyle: "medium", timeStyle: "short" })}</li>
              ))}
            </ol>
          </div>
        )}
      </div>
      <div className="grid gap-3 md:grid-cols-2">
        <label className="flex flex-col gap-1 text-xs text-muted">
          Source
          <select className="input" value={f.sourceType} onChange={(e) => set("sourceType", e.target.value as SourceType)}>
            {SOURCE_TYPES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        {field("Namespace (e.g. product:)", "namespace")}
        {f.sourceType === "keys" && (
          <label className="flex flex-col gap-1 text-xs text-muted md:col-span-2">
            Keys (one per line)
            <textarea className="input h-24 font-mono" value={f.keys} onChange={(e) => set("keys", e.target.value)} />
          </label>
        )}
        {f.sourceType === "origin" && field("Most keys to list", "limit", { type: "number", min: 1 })}
        {f.sourceType === "hot" && field("Hot keys to consider", "topN", { type: "number", min: 1 })}
        {f.sourceType === "snapshot" && (
          <label className="flex flex-col gap-1 text-xs text-muted">
            Snapshot action
            <select className="input" value={f.snapshotAction} onChange={(e) => set("snapshotAction", e.target.value as "save" | "restore")}>
              <option value="save">save</option>
              <option value="restore">restore</option>
            </select>
          </label>
        )}
        {f.sourceType === "l3" &&
          field("Key pattern to restore from L3 (Redis glob)", "pattern", {
            className: "input font-mono",
            required: true,
            placeholder: `${f.namespace.trim() || "product:"}*`,
          })}
        {field("Priority (1–10)", "priority", { type: "number", min: 1, max: 10 })}
        {field(f.sourceType === "l3" ? "Batch size (entries per L3 page)" : "Batch size", "batchSize", { type: "number", min: 1, max: 1000 })}
        {f.sourceType !== "l3" && field("Concurrency", "concurrency", { type: "number", min: 1, max: 32 })}
        {f.sourceType !== "l3" && field("TTL seconds (empty: cache default)", "ttlSeconds", { type: "number", min: 1 })}
      </div>
      <ErrorBox error={error} what="Save" />
      <div className="flex justify-end gap-2">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn-primary" disabled={saving || Boolean(preview.error)}>
          {saving ? "Saving…" : job ? "Save changes" : "Create job"}
        </button>
      </div>
    </form>
  );
}
