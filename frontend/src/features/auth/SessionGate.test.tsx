// @vitest-environment jsdom
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createMemoryRouter, RouterProvider } from "react-router-dom";
import { SWRConfig } from "swr";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { apiError, fakeApi, ok, type FakeApi } from "../../../testing/components";
import { appRoutes } from "../../App";
import { fetcher } from "../../api/client";
import { clearRejection } from "../../lib/session";
import { getSettings, updateSettings } from "../../lib/settings";

const WAIT = { timeout: 5_000 };
const WHOAMI = "/api/auth/whoami";

let api: FakeApi;

beforeEach(() => {
  api = fakeApi();
  clearRejection();
  updateSettings({ token: "", readOnly: false, theme: "light" });
  // The platform's tokens: whoami answers for these two, 401 for anything else.
  const tokens: Record<string, { userID: string; role: string }> = {
    "ops-secret": { userID: "ops", role: "operator" },
    "viewer-secret": { userID: "dash", role: "viewer" },
  };
  api.on("GET", WHOAMI, (request) => {
    const who = tokens[request.token ?? ""];
    return who ? ok({ ...who, namespaces: [] }) : apiError(401, "unauthenticated", "invalid token");
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

/** The whole app (gate, layout, pages) at `url`, as App renders it. */
function renderApp(url: string) {
  const router = createMemoryRouter(appRoutes, { initialEntries: [url] });
  render(
    <SWRConfig value={{ fetcher, provider: () => new Map(), dedupingInterval: 0, shouldRetryOnError: false, revalidateOnFocus: false }}>
      <RouterProvider router={router} />
    </SWRConfig>,
  );
  return router;
}

const dataRequests = () => api.requests.filter((r) => r.path !== WHOAMI);

describe("sign-in", () => {
  test("a first visit asks for the token, says whose it is, and sends no data request before Continue", async () => {
    const user = userEvent.setup();
    const router = renderApp("/explorer?match=user:*");
    const signIn = screen.getByTestId("sign-in");
    expect(api.requests).toHaveLength(0);

    await user.type(within(signIn).getByLabelText("API token"), "wrong");
    await user.click(within(signIn).getByRole("button", { name: "Check token" }));
    expect((await within(signIn).findByRole("alert", {}, WAIT)).textContent).toBe("Token rejected: invalid token");

    await user.clear(within(signIn).getByLabelText("API token"));
    await user.type(within(signIn).getByLabelText("API token"), "ops-secret");
    await user.click(within(signIn).getByRole("button", { name: "Check token" }));
    expect((await within(signIn).findByTestId("sign-in-who", {}, WAIT)).textContent).toBe("This token belongs to ops, role operator");
    expect(api.requests.map((r) => [r.path, r.token])).toEqual([
      [WHOAMI, "wrong"],
      [WHOAMI, "ops-secret"],
    ]);
    expect(getSettings().token).toBe(""); // not kept until the user continues

    await user.click(within(signIn).getByRole("button", { name: "Continue as ops" }));
    await screen.findByRole("heading", { name: "Cache Explorer" }, WAIT);
    expect(getSettings().token).toBe("ops-secret");
    expect(router.state.location.search).toBe("?match=user:*"); // the deep link survives sign-in
    await vi.waitFor(() => expect(dataRequests().length).toBeGreaterThan(0), WAIT);
    expect(dataRequests().every((r) => r.token === "ops-secret")).toBe(true);
    expect(screen.getByTestId("token-status").textContent).toBe("ops · operator");
  });

  test("a kept token the API refuses shows the sign-in screen with the reason; no page loads", async () => {
    updateSettings({ token: "revoked-secret" });
    renderApp("/overview");
    expect((await screen.findByTestId("sign-in-reason", {}, WAIT)).textContent).toContain("invalid token");
    expect(screen.queryByRole("heading", { name: "Overview" })).toBeNull();
    expect(dataRequests()).toHaveLength(0);
  });

  test("a token revoked mid-session sends the user back to sign in, with the API's reason", async () => {
    updateSettings({ token: "ops-secret" });
    let revoked = false;
    api.on("GET", /^\/api\/keys/, () => (revoked ? apiError(401, "unauthenticated", "token revoked") : ok({ keys: [], cursor: "0", scanned: 0 })));
    const user = userEvent.setup();
    renderApp("/explorer");
    await screen.findByRole("heading", { name: "Cache Explorer" }, WAIT);
    await screen.findByText(/No keys match/, {}, WAIT);

    revoked = true;
    await user.click(screen.getByRole("button", { name: /Refresh/ }));
    expect((await screen.findByTestId("sign-in-reason", {}, WAIT)).textContent).toContain("token revoked");
    expect(screen.queryByRole("heading", { name: "Cache Explorer" })).toBeNull();

    // Another token signs in again, and the page comes back.
    revoked = false;
    await user.type(screen.getByLabelText("API token"), "viewer-secret");
    await user.click(screen.getByRole("button", { name: "Check token" }));
    await user.click(await screen.findByRole("button", { name: "Continue as dash" }, WAIT));
    await screen.findByRole("heading", { name: "Cache Explorer" }, WAIT);
    expect(screen.getByTestId("token-status").textContent).toBe("dash · viewer");
  });

  test("signing out in Settings forgets the token and shows the sign-in screen", async () => {
    updateSettings({ token: "ops-secret" });
    const user = userEvent.setup();
    renderApp("/settings");
    expect((await screen.findByTestId("settings-who", {}, WAIT)).textContent).toContain("ops");
    await user.click(screen.getByRole("button", { name: "Sign out" }));
    await screen.findByTestId("sign-in", {}, WAIT);
    expect(getSettings().token).toBe("");
  });
});
