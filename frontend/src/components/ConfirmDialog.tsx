import { AlertTriangle } from "lucide-react";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { confirmationMatches } from "../lib/confirm";

export interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  /** When set, the user must type it before the action button enables. */
  phrase?: string;
  actionLabel: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

/** A modal that shows what will happen and, for large or match-all actions, asks for typed confirmation. */
export function ConfirmDialog({ title, children, phrase, actionLabel, busy, onConfirm, onCancel }: ConfirmDialogProps) {
  const [typed, setTyped] = useState("");
  const first = useRef<HTMLInputElement & HTMLButtonElement>(null);
  const ok = !phrase || confirmationMatches(typed, phrase);

  useEffect(() => first.current?.focus(), []);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !busy) {
        event.preventDefault();
        onCancel();
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [busy, onCancel]);

  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/40 p-4">
      <div role="dialog" aria-modal="true" aria-labelledby="confirm-title" className="w-full max-w-md rounded-lg border border-line bg-panel p-5 shadow-xl">
        <h2 id="confirm-title" className="flex items-center gap-2 text-lg font-semibold">
          <AlertTriangle aria-hidden className="size-5 text-danger" /> {title}
        </h2>
        <div className="mt-2 space-y-2 text-sm">{children}</div>
        <form
          className="mt-4 space-y-3"
          onSubmit={(e) => {
            e.preventDefault();
            if (ok && !busy) onConfirm();
          }}
        >
          {phrase && (
            <label className="block text-sm">
              Type <strong className="font-mono">{phrase}</strong> to confirm
              <input
                ref={first}
                aria-label="Confirmation"
                className="input mt-1 w-full font-mono"
                value={typed}
                onChange={(e) => setTyped(e.target.value)}
                autoComplete="off"
              />
            </label>
          )}
          <div className="flex justify-end gap-2">
            <button type="button" className="btn" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
            <button type="submit" ref={phrase ? undefined : first} className="btn-danger" disabled={!ok || busy}>
              {busy ? "Working…" : actionLabel}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
