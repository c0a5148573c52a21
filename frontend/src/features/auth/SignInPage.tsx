import { KeyRound } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import type { WhoAmI } from "../../api/cache";
import { TokenForm } from "../../components/TokenForm";
import { Badge } from "../../components/ui";
import { useSessionActions } from "../../lib/access";

interface Props {
  /** Why the user is here again: the API's reason for refusing the kept token. */
  reason?: string;
  initialToken?: string;
}

/**
 * The first screen without a working token: paste one, see whose it is and its role, continue.
 * Nothing but `/api/auth/whoami` is asked before that.
 */
export function SignInPage({ reason, initialToken }: Props) {
  const { signIn } = useSessionActions();
  const [accepted, setAccepted] = useState<{ token: string; who: WhoAmI } | null>(null);
  const proceed = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    document.title = "Sign in · Cachet";
  }, []);
  useEffect(() => {
    if (accepted) proceed.current?.focus();
  }, [accepted]);

  return (
    <main className="flex min-h-screen items-start justify-center px-4 py-[12vh]">
      <div className="card w-full max-w-md space-y-4" data-testid="sign-in">
        <div className="flex items-center gap-2">
          <KeyRound aria-hidden className="size-5 text-accent" />
          <h1 className="text-xl font-semibold">Sign in to Cachet</h1>
        </div>
        {reason && (
          <p role="alert" className="rounded-md border border-danger/50 p-3 text-sm" data-testid="sign-in-reason">
            The API no longer accepts the token this browser kept: <strong>{reason}</strong>. Paste a valid one.
          </p>
        )}
        <p className="text-sm text-muted">
          Paste an API token: viewer (read), operator (invalidate, warm) or admin (everything, including the Lab). <code>npm start</code> prints the admin token
          and keeps it in <code>.cachet/admin-token</code>. The token stays in this browser only.
        </p>
        <TokenForm initialToken={initialToken} onAccepted={(token, who) => setAccepted({ token, who })} />
        {accepted && (
          <div className="space-y-3 rounded-md border border-ok/50 p-3 text-sm">
            <p role="status" data-testid="sign-in-who">
              This token belongs to <strong>{accepted.who.userID}</strong>, role <Badge tone="accent">{accepted.who.role}</Badge>
              {accepted.who.namespaces.length > 0 ? `, limited to ${accepted.who.namespaces.join(", ")}` : ""}
            </p>
            <button ref={proceed} className="btn-primary" onClick={() => void signIn(accepted.token, accepted.who)}>
              Continue as {accepted.who.userID}
            </button>
          </div>
        )}
      </div>
    </main>
  );
}
