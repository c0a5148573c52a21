import { useState } from "react";
import { TokenForm } from "../../components/TokenForm";
import { Badge, PageHeader } from "../../components/ui";
import { roleAtLeast, useAccess, useSessionActions } from "../../lib/access";
import { formatDuration } from "../../lib/format";
import { POLL_CHOICES, updateSettings, useSettings, type Theme } from "../../lib/settings";
import { CachePolicySection } from "./CachePolicySection";

export function SettingsPage() {
  const settings = useSettings();
  const { who, can } = useAccess();
  const { signIn, signOut } = useSessionActions();
  const [switched, setSwitched] = useState<string | null>(null);

  return (
    <div className="max-w-2xl space-y-6">
      <PageHeader title="Settings" description="Token, polling, theme and read-only mode are kept in this browser only (localStorage)." />

      <section className="card space-y-3" aria-labelledby="token-heading">
        <h2 id="token-heading" className="font-medium">
          API token
        </h2>
        {who && (
          <p className="text-sm" data-testid="settings-who">
            Signed in as <strong>{who.userID}</strong> <Badge tone="accent">{who.role}</Badge>
            {who.namespaces.length > 0 ? ` · limited to ${who.namespaces.join(", ")}` : ""}
          </p>
        )}
        <p className="text-sm text-muted">Switch to another token (it is checked before it replaces this one), or sign out to forget it.</p>
        <TokenForm
          submitLabel="Switch token"
          onAccepted={(token, accepted) => {
            setSwitched(`Now signed in as ${accepted.userID} (${accepted.role})`);
            void signIn(token, accepted);
          }}
        />
        {switched && (
          <p role="status" className="text-sm text-ok">
            {switched}
          </p>
        )}
        <button className="btn" onClick={() => void signOut()}>
          Sign out
        </button>
      </section>

      <section className="card space-y-3" aria-labelledby="poll-heading">
        <h2 id="poll-heading" className="font-medium">
          Polling interval
        </h2>
        <p className="text-sm text-muted">How often live views refresh. Polling pauses while the tab is hidden.</p>
        <select aria-label="Polling interval" className="input" value={settings.pollMs} onChange={(e) => updateSettings({ pollMs: Number(e.target.value) })}>
          {POLL_CHOICES.map((ms) => (
            <option key={ms} value={ms}>
              every {formatDuration(ms)}
            </option>
          ))}
        </select>
      </section>

      <section className="card space-y-3" aria-labelledby="theme-heading">
        <h2 id="theme-heading" className="font-medium">
          Theme
        </h2>
        <div role="radiogroup" aria-labelledby="theme-heading" className="flex gap-4 text-sm">
          {(["light", "dark", "system"] as Theme[]).map((theme) => (
            <label key={theme} className="flex items-center gap-1.5">
              <input type="radio" name="theme" value={theme} checked={settings.theme === theme} onChange={() => updateSettings({ theme })} />
              {theme === "system" ? "System" : theme === "dark" ? "Dark" : "Light"}
            </label>
          ))}
        </div>
      </section>

      <section className="card space-y-3" aria-labelledby="ro-heading">
        <h2 id="ro-heading" className="font-medium">
          Read-only mode
        </h2>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={settings.readOnly} onChange={(e) => updateSettings({ readOnly: e.target.checked })} />
          Disable every action that changes data (invalidations, warming, the Lab), whatever the token allows.
        </label>
      </section>

      {roleAtLeast(who?.role, "admin") && <CachePolicySection editable={can("admin")} />}
    </div>
  );
}
