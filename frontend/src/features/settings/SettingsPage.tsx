import { useState } from "react";
import { useSWRConfig } from "swr";
import { api } from "../../api/client";
import type { WhoAmI } from "../../api/cache";
import { PageHeader } from "../../components/ui";
import { POLL_CHOICES, updateSettings, useSettings, type Theme } from "../../lib/settings";
import { formatDuration } from "../../lib/format";

export function SettingsPage() {
  const settings = useSettings();
  const { mutate } = useSWRConfig();
  const [token, setToken] = useState(settings.token);
  const [show, setShow] = useState(false);
  const [check, setCheck] = useState<{ ok: boolean; text: string } | null>(null);

  const saveToken = async () => {
    updateSettings({ token: token.trim() });
    setCheck(null);
    try {
      const who = await api<WhoAmI>("/api/auth/whoami");
      setCheck({ ok: true, text: `Token accepted: ${who.userID} (${who.role})` });
    } catch (error) {
      setCheck({ ok: false, text: `Token rejected: ${(error as Error).message}` });
    }
    await mutate(() => true); // refetch everything with the new token
  };

  return (
    <div className="max-w-2xl space-y-6">
      <PageHeader title="Settings" description="Kept in this browser only (localStorage)." />

      <section className="card space-y-3" aria-labelledby="token-heading">
        <h2 id="token-heading" className="font-medium">API token</h2>
        <p className="text-sm text-muted">A bearer token of the platform: viewer (read), operator (invalidate, warm) or admin (everything, including the Lab). `npm start` prints the admin token and keeps it in .cachet/admin-token.</p>
        <form
          className="flex gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            void saveToken();
          }}
        >
          <input aria-label="API token" className="input flex-1 font-mono" type={show ? "text" : "password"} value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" spellCheck={false} />
          <button type="button" className="btn" onClick={() => setShow((s) => !s)} aria-pressed={show}>
            {show ? "Hide" : "Show"}
          </button>
          <button type="submit" className="btn-primary">
            Save token
          </button>
        </form>
        {check && (
          <p role="status" className={`text-sm ${check.ok ? "text-ok" : "text-danger"}`}>
            {check.text}
          </p>
        )}
      </section>

      <section className="card space-y-3" aria-labelledby="poll-heading">
        <h2 id="poll-heading" className="font-medium">Polling interval</h2>
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
        <h2 id="theme-heading" className="font-medium">Theme</h2>
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
        <h2 id="ro-heading" className="font-medium">Read-only mode</h2>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={settings.readOnly} onChange={(e) => updateSettings({ readOnly: e.target.checked })} />
          Disable every action that changes data (invalidations, warming, the Lab), whatever the token allows.
        </label>
      </section>
    </div>
  );
}
