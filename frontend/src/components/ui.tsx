/** Small shared pieces: error and empty states, badges, stat tiles, section headers. */
import { AlertTriangle, Inbox, PlugZap } from "lucide-react";
import type { ReactNode } from "react";
import { ApiError } from "../api/client";

export function ErrorBox({ error, what }: { error: unknown; what?: string }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : undefined;
  if (api?.notDeployed) {
    return (
      <div role="status" className="card flex items-start gap-3 border-warn/50 text-sm" data-testid="not-deployed">
        <PlugZap aria-hidden className="mt-0.5 size-5 shrink-0 text-warn" />
        <div>
          <p className="font-medium">{what ?? "This feature"} is not available on this deployment yet.</p>
          <p className="text-muted">{api.message}. The page will work once the service that provides it is running.</p>
        </div>
      </div>
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    api?.status === 401
      ? "Set a valid API token in Settings."
      : api?.status === 403
        ? "Your token's role does not allow this."
        : api?.code === "network"
          ? "Is the platform running?"
          : undefined;
  return (
    <div role="alert" className="card flex items-start gap-3 border-danger/50 text-sm">
      <AlertTriangle aria-hidden className="mt-0.5 size-5 shrink-0 text-danger" />
      <div>
        <p className="font-medium">
          {what ? `${what}: ` : ""}
          {message}
        </p>
        {api && (
          <p className="text-muted">
            {api.code}
            {api.status ? ` (HTTP ${api.status})` : ""}
            {hint ? ` — ${hint}` : ""}
          </p>
        )}
      </div>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="flex flex-col items-center gap-2 py-10 text-sm text-muted">
      <Inbox aria-hidden className="size-6" />
      {children}
    </div>
  );
}

const BADGE_TONES = {
  neutral: "border-line text-muted",
  ok: "border-ok/40 text-ok",
  warn: "border-warn/40 text-warn",
  danger: "border-danger/40 text-danger",
  accent: "border-accent/40 text-accent",
} as const;

export function Badge({ tone = "neutral", children, title }: { tone?: keyof typeof BADGE_TONES; children: ReactNode; title?: string }) {
  return (
    <span title={title} className={`inline-flex items-center rounded border px-1.5 py-0.5 text-xs font-medium ${BADGE_TONES[tone]}`}>
      {children}
    </span>
  );
}

export function Stat({ label, value, hint, testId }: { label: string; value: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <div className="card" data-testid={testId}>
      <div className="label">{label}</div>
      <div className="mt-1 text-2xl font-semibold tabular-nums">{value}</div>
      {hint && <div className="mt-0.5 text-xs text-muted">{hint}</div>}
    </div>
  );
}

export function PageHeader({ title, children, description }: { title: string; description?: ReactNode; children?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-end justify-between gap-3">
      <div>
        <h1 className="text-xl font-semibold">{title}</h1>
        {description && <p className="text-sm text-muted">{description}</p>}
      </div>
      <div className="flex flex-wrap items-center gap-2">{children}</div>
    </div>
  );
}

/** Tabs whose selection lives in the URL (the caller passes value and onChange). */
export function Tabs<T extends string>({
  tabs,
  value,
  onChange,
  label,
}: {
  tabs: ReadonlyArray<{ id: T; label: string }>;
  value: T;
  onChange: (id: T) => void;
  label: string;
}) {
  return (
    // On a phone the tabs scroll within their bar rather than widening the page.
    <div role="tablist" aria-label={label} className="mb-4 flex gap-1 overflow-x-auto border-b border-line">
      {tabs.map((tab) => (
        <button
          key={tab.id}
          role="tab"
          aria-selected={tab.id === value}
          onClick={() => onChange(tab.id)}
          className={`-mb-px shrink-0 border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap ${tab.id === value ? "border-accent text-fg" : "border-transparent text-muted hover:text-fg"}`}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}
