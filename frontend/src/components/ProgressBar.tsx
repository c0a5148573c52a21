/** A progress bar; `fraction` null is indeterminate. */
export function ProgressBar({ fraction, label }: { fraction: number | null; label: string }) {
  return (
    <div className="space-y-1">
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
        className="h-2 overflow-hidden rounded bg-line"
      >
        <div
          className={`h-full bg-accent transition-all ${fraction === null ? "w-1/3 animate-pulse" : ""}`}
          style={fraction === null ? undefined : { width: `${Math.round(fraction * 100)}%` }}
        />
      </div>
      <p className="text-xs text-muted">{label}</p>
    </div>
  );
}
