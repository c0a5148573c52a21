import type { AuditPage } from "../../api/policy";
import { Empty, ErrorBox } from "../../components/ui";
import { describeSettings } from "./policy-text";

/** The most recent policy changes: when, who, what, and the settings before and after. */
export function PolicyAuditList({ page, error }: { page: AuditPage | undefined; error: unknown }) {
  return (
    <div className="space-y-2">
      <h3 className="text-sm font-medium">Recent changes</h3>
      <ErrorBox error={error} what="Policy audit" />
      {page && page.entries.length === 0 && <Empty>No change yet: every instance uses the environment&apos;s settings.</Empty>}
      {page && page.entries.length > 0 && (
        <ol className="space-y-1 text-sm" aria-label="Recent cache policy changes">
          {page.entries.map((entry) => (
            <li key={entry.id} className="border-b border-line/60 pb-1">
              <span className="text-muted">{new Date(entry.at).toLocaleString()}</span> · <strong>{entry.actor}</strong> ·{" "}
              <span className="font-mono">{entry.target}</span>
              <span className="block break-words text-xs text-muted">
                {describeSettings(entry.before)} → {describeSettings(entry.after)}
              </span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
