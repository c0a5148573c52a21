import { Outlet } from "react-router-dom";
import { ApiError } from "../../api/client";
import { useAccess } from "../../lib/access";
import { useRejection } from "../../lib/session";
import { useSettings } from "../../lib/settings";
import { SignInPage } from "./SignInPage";

/**
 * The app behind the sign-in screen: pages (and their requests) render only once the kept token
 * has answered `/api/auth/whoami`. No token, a refused one, or one refused mid-session (any 401,
 * see api/client.ts) shows the sign-in screen, with the API's reason when there is one. A brief
 * outage after sign-in does not: whoami's last answer stands.
 */
export function SessionGate() {
  const { token } = useSettings();
  const rejection = useRejection();
  const access = useAccess();
  if (!token) return <SignInPage />;
  if (rejection?.token === token) return <SignInPage reason={rejection.reason} />;
  if (access.who) return <Outlet />;
  if (access.error) {
    const refused = access.error instanceof ApiError && access.error.status === 401;
    return <SignInPage reason={(access.error as Error).message} initialToken={refused ? "" : token} />;
  }
  return (
    <main className="flex min-h-screen items-center justify-center">
      <p role="status" className="text-sm text-muted">
        Checking the token…
      </p>
    </main>
  );
}
