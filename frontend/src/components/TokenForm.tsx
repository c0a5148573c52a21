import { useId, useState } from "react";
import { whoamiWith, type WhoAmI } from "../api/cache";

interface Props {
  /** Called with a token the API accepted and its whoami answer. */
  onAccepted: (token: string, who: WhoAmI) => void;
  submitLabel?: string;
  initialToken?: string;
}

/**
 * A token field that checks what is pasted against `/api/auth/whoami` before anything keeps it;
 * a refusal shows the API's reason. The sign-in screen and Settings both use it.
 */
export function TokenForm({ onAccepted, submitLabel = "Check token", initialToken = "" }: Props) {
  const [token, setToken] = useState(initialToken);
  const [show, setShow] = useState(false);
  const [checking, setChecking] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const errorId = useId();

  const check = async () => {
    const candidate = token.trim();
    if (!candidate) {
      setRefusal("Paste a token first.");
      return;
    }
    setChecking(true);
    setRefusal(null);
    try {
      onAccepted(candidate, await whoamiWith(candidate));
    } catch (error) {
      setRefusal(`Token rejected: ${(error as Error).message}`);
    } finally {
      setChecking(false);
    }
  };

  return (
    <form
      className="space-y-2"
      onSubmit={(e) => {
        e.preventDefault();
        void check();
      }}
    >
      <div className="flex flex-wrap gap-2">
        <input
          aria-label="API token"
          aria-invalid={refusal ? true : undefined}
          aria-describedby={refusal ? errorId : undefined}
          className="input min-w-0 flex-1 font-mono"
          type={show ? "text" : "password"}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoComplete="off"
          spellCheck={false}
        />
        <button type="button" className="btn" onClick={() => setShow((s) => !s)} aria-pressed={show}>
          {show ? "Hide" : "Show"}
        </button>
        <button type="submit" className="btn-primary" disabled={checking}>
          {checking ? "Checking…" : submitLabel}
        </button>
      </div>
      {refusal && (
        <p id={errorId} role="alert" className="text-sm text-danger">
          {refusal}
        </p>
      )}
    </form>
  );
}
