import { X } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import useSWR from "swr";
import { cancelRun, FINAL_RUN_STATUSES, warmingPaths, type RunDetail } from "../../api/warming";
import { ProgressBar } from "../../components/ProgressBar";
import { ErrorBox } from "../../components/ui";
import { formatDuration, formatNumber } from "../../lib/format";
import { usePageVisible } from "../../lib/visibility";
import { statusBadge } from "./status";

/** One run, polled every 500 ms until it is final: progress, counts, error samples, cancel. */
export function RunPanel({ id, canCancel, onClose, onFinished }: { id: number; canCancel: boolean; onClose: () => void; onFinished: () => void }) {
  const visible = usePageVisible();
  const [cancelError, setCancelError] = useState<unknown>(null);
  const { data, error, mutate } = useSWR<RunDetail>(warmingPaths.run(id), {
    refreshInterval: (latest) => (visible && (!latest || !FINAL_RUN_STATUSES.has(latest.status)) ? 500 : 0),
  });
  // The panel polls faster than the list: once the run is final, refresh the list so both agree.
  const finalStatus = data && FINAL_RUN_STATUSES.has(data.status) ? data.status : null;
  const finished = useRef(onFinished);
  useEffect(() => {
    finished.current = onFinished;
  });
  useEffect(() => {
    if (finalStatus) finished.current();
  }, [id, finalStatus]);
  const done = data ? data.warmed + data.failed + data.skipped : 0;
  const fraction = data?.total ? Math.min(1, done / data.total) : data && FINAL_RUN_STATUSES.has(data.status) ? 1 : null;
  return (
    <aside className="card min-w-0 space-y-3" aria-label={`Run ${id}`} data-testid="run-detail">
      <div className="flex items-center justify-between">
        <h2 className="font-medium">
          Run #{id} {data && statusBadge(data.status)}
        </h2>
        <button className="btn px-1.5" onClick={onClose} aria-label="Close run details">
          <X aria-hidden className="size-4" />
        </button>
      </div>
      <ErrorBox error={error} what="Run" />
      {data && (
        <>
          <ProgressBar
            fraction={fraction}
            label={`${formatNumber(done)}${data.total !== undefined ? ` of ${formatNumber(data.total)}` : ""} keys · ${formatNumber(data.keysPerSecond, 1)} keys/s · ${formatDuration(data.durationMs)}`}
          />
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
            <dt className="text-muted">Warmed</dt>
            <dd data-testid="run-warmed">{formatNumber(data.warmed)}</dd>
            <dt className="text-muted">Failed</dt>
            <dd>{formatNumber(data.failed)}</dd>
            <dt className="text-muted">Skipped</dt>
            <dd>{formatNumber(data.skipped)}</dd>
            <dt className="text-muted">Batches</dt>
            <dd>
              {data.batches} ({data.retries} retried)
            </dd>
            <dt className="text-muted">Source</dt>
            <dd>
              {data.sourceType}
              {data.namespace ? ` · ${data.namespace}` : ""}
            </dd>
          </dl>
          {data.error && <p className="text-sm text-danger">{data.error}</p>}
          {data.errorSamples.length > 0 && (
            <details className="text-sm">
              <summary>{data.errorSamples.length} error samples</summary>
              <ul className="mt-1 space-y-1 text-xs">
                {data.errorSamples.map((e) => (
                  <li key={e.at + e.message}>
                    {e.message}{" "}
                    <span className="text-muted">
                      ({e.keys.slice(0, 3).join(", ")}…, {e.attempts} attempts)
                    </span>
                  </li>
                ))}
              </ul>
            </details>
          )}
          {canCancel && !FINAL_RUN_STATUSES.has(data.status) && (
            <button
              className="btn text-danger"
              disabled={data.cancelRequested}
              onClick={async () => {
                try {
                  await cancelRun(id);
                  await mutate();
                } catch (e) {
                  setCancelError(e);
                }
              }}
            >
              {data.cancelRequested ? "Cancelling…" : "Cancel run"}
            </button>
          )}
          <ErrorBox error={cancelError} what="Cancel" />
        </>
      )}
    </aside>
  );
}
