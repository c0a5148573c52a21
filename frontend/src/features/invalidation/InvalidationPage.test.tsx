// @vitest-environment jsdom
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { advance, apiError, fakeApi, ok, renderAt, signIn, type FakeApi } from "../../../testing/components";
import type { InvalidationAccepted, InvalidationRecord, PatternPreview } from "../../api/invalidation";
import { updateSettings } from "../../lib/settings";
import { InvalidationPage } from "./InvalidationPage";

const PREVIEW = "/api/invalidate/preview";
const WAIT = { timeout: 5_000 }; // findBy*: debounces are 300 ms, and the machine may be busy

const exact = (matched: number, sample: string[] = [], confirmThreshold = 10_000): PatternPreview => ({
  matched,
  exact: true,
  scanned: matched,
  sample,
  estimate: null,
  confirmThreshold,
});

function accepted(id: string, dryRun = false): InvalidationAccepted {
  return { id, state: "pending", dryRun, statusUrl: `/api/invalidations/${id}` };
}

function record(id: string, patch: Partial<InvalidationRecord>): InvalidationRecord {
  return {
    id,
    actor: "operator-user",
    kind: "pattern",
    target: { pattern: "product:*" },
    reason: null,
    dryRun: false,
    status: "completed",
    requestedAt: "2025-06-01T12:00:00.000Z",
    completedAt: "2025-06-01T12:00:00.020Z",
    matched: 0,
    deleted: 0,
    liveInstances: 2,
    durationMs: 20,
    error: null,
    seq: 1,
    ...patch,
  };
}

let api: FakeApi;
let previews: Record<string, PatternPreview>;

beforeEach(() => {
  api = fakeApi();
  signIn(api, "operator");
  previews = {};
  api.on("GET", PREVIEW, (request) => ok(previews[request.query.get("pattern") ?? ""] ?? exact(0)));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const patternBox = () => screen.getByRole("textbox", { name: "Pattern" });
const previewPanel = () => screen.getByTestId("preview");

describe("live preview", () => {
  test("waits until typing stops, then shows the count (exact) and a sample; the URL follows", async () => {
    vi.useFakeTimers();
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    previews["product:*"] = exact(1234, ["product:1", "product:2", "product:3"]);
    const view = renderAt(<InvalidationPage />, "/invalidation");
    await advance(0);
    expect(within(previewPanel()).getByText("Type a pattern to see how many keys it matches.")).toBeTruthy();

    await user.type(patternBox(), "product:*");
    await advance(299);
    expect(api.calls(PREVIEW)).toHaveLength(0); // nothing while typing, nor before the pause is over
    await advance(1);
    await advance(0);

    // One request, for what was finally typed (not one per keystroke).
    expect(api.calls(PREVIEW).map((r) => r.query.get("pattern"))).toEqual(["product:*"]);
    expect(api.calls(PREVIEW)[0].query.get("limit")).toBe("10000");
    expect(screen.getByTestId("preview-count").textContent).toBe("1,234 keys match (exact)");
    expect(
      within(previewPanel())
        .getAllByRole("listitem")
        .map((li) => li.textContent),
    ).toEqual(["product:1", "product:2", "product:3"]);

    // The pattern is in the URL, replacing the entry (typing does not flood the history).
    expect(view.search().get("target")).toBe("product:*");
    expect(view.router.state.historyAction).toBe("REPLACE");
  });

  test("a changed pattern is previewed again; the old result stays until the new one arrives", async () => {
    vi.useFakeTimers();
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    previews["user:*"] = exact(40, ["user:1"]);
    let release!: () => void;
    api.on("GET", PREVIEW, async (request) => {
      if (request.query.get("pattern") === "user:1*") await new Promise<void>((resolve) => (release = resolve));
      return ok(previews[request.query.get("pattern") ?? ""] ?? exact(11, ["user:10"]));
    });
    renderAt(<InvalidationPage />, "/invalidation");
    await user.type(patternBox(), "user:*");
    await advance(300);
    expect(screen.getByTestId("preview-count").textContent).toBe("40 keys match (exact)");

    await user.clear(patternBox());
    await user.type(patternBox(), "user:1*");
    await advance(300);
    expect(api.calls(PREVIEW).map((r) => r.query.get("pattern"))).toEqual(["user:*", "user:1*"]);
    expect(screen.getByTestId("preview-count").textContent).toBe("40 keys match (exact)");
    release();
    await advance(0);
    expect(screen.getByTestId("preview-count").textContent).toBe("11 keys match (exact)");
  });

  test("an estimate says so, with how much was scanned", async () => {
    previews["event:*"] = {
      matched: 1_250_000,
      exact: false,
      scanned: 10_000,
      sample: ["event:9"],
      estimate: { matched: 1_250_000, method: "ratio" },
      confirmThreshold: 10_000,
    };
    renderAt(<InvalidationPage />, "/invalidation?target=event:*");
    const count = await screen.findByTestId("preview-count", {}, WAIT);
    expect(count.textContent).toBe("≈ 1,250,000 keys match (estimated from 10,000 scanned)");
  });

  test("the service's error is shown (a bad pattern)", async () => {
    api.on("GET", PREVIEW, apiError(400, "invalid_argument", "pattern: unterminated [ class"));
    renderAt(<InvalidationPage />, "/invalidation?target=product:[a");
    const alert = await within(previewPanel()).findByRole("alert", {}, WAIT);
    expect(alert.textContent).toContain("Preview: pattern: unterminated [ class");
    expect(alert.textContent).toContain("invalid_argument (HTTP 400)");
    expect(screen.queryByTestId("preview-count")).toBeNull();
  });

  test("a deployment without the invalidation service says the preview is not available", async () => {
    api.on("GET", PREVIEW, { status: 200, html: "<!doctype html>" }); // the dashboard's fallback route
    renderAt(<InvalidationPage />, "/invalidation?target=product:*");
    const notice = await within(previewPanel()).findByTestId("not-deployed", {}, WAIT);
    expect(notice.textContent).toContain("Preview is not available on this deployment yet.");
  });

  test("keys and tags are counted as typed, without asking the service", async () => {
    const user = userEvent.setup();
    renderAt(<InvalidationPage />, "/invalidation?mode=keys");
    await user.type(screen.getByRole("textbox", { name: "Keys" }), "a\nb, c\na");
    expect(within(previewPanel()).getByText("3 keys")).toBeTruthy(); // distinct
    await user.click(screen.getByRole("radio", { name: "Tags" }));
    await user.type(screen.getByRole("textbox", { name: "Tags" }), "catalog eu");
    expect(within(previewPanel()).getByText("2 tags · key count known after a dry run")).toBeTruthy();
    expect(api.calls(PREVIEW)).toHaveLength(0);
  });
});

describe("invalidating", () => {
  function completes(id: string, patch: Partial<InvalidationRecord>) {
    api.on("GET", `/api/invalidations/${id}`, ok(record(id, patch)));
  }

  test("a small count: one click in the dialog, then the result", async () => {
    const user = userEvent.setup();
    previews["product:4*"] = exact(7, ["product:41"]);
    api.on("POST", "/api/invalidate/pattern", ok(accepted("inv-1"), 202));
    completes("inv-1", { matched: 7, deleted: 7 });
    renderAt(<InvalidationPage />, "/invalidation?target=product:4*");
    await screen.findByTestId("preview-count", {}, WAIT);
    await user.type(screen.getByRole("textbox", { name: "Reason" }), "price change");
    await user.click(screen.getByRole("button", { name: "Invalidate…" }));

    const dialog = screen.getByRole("dialog", { name: "Invalidate?" });
    expect(dialog.textContent).toContain("Every key matching product:4* (7 keys) will be removed");
    expect(within(dialog).queryByLabelText("Confirmation")).toBeNull();
    await user.click(within(dialog).getByRole("button", { name: "Invalidate" }));

    const result = await screen.findByText("Invalidated 7 keys", {}, WAIT);
    expect(result.closest("[data-testid=console-result]")!.textContent).toContain("request inv-1 · matched 7 · deleted 7 · 2 live instances · 20 ms");
    expect(api.calls("/api/invalidate/pattern", "POST").map((r) => r.body)).toEqual([{ pattern: "product:4*", reason: "price change", dryRun: false }]);
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  test("a large count must be typed; above the service's threshold the request carries confirm", async () => {
    const user = userEvent.setup();
    previews["session:*"] = exact(12_345, ["session:1"]);
    api.on("POST", "/api/invalidate/pattern", ok(accepted("inv-2"), 202));
    completes("inv-2", { matched: 12_345, deleted: 12_345 });
    renderAt(<InvalidationPage />, "/invalidation?target=session:*");
    await screen.findByTestId("preview-count", {}, WAIT);
    await user.click(screen.getByRole("button", { name: "Invalidate…" }));

    const dialog = screen.getByRole("dialog");
    expect(dialog.textContent).toContain("Type 12345 to confirm");
    const action = within(dialog).getByRole("button", { name: "Invalidate" }) as HTMLButtonElement;
    expect(action.disabled).toBe(true);
    await user.type(within(dialog).getByLabelText("Confirmation"), "12,344");
    expect(action.disabled).toBe(true);
    await user.clear(within(dialog).getByLabelText("Confirmation"));
    await user.type(within(dialog).getByLabelText("Confirmation"), "12,345");
    await user.click(action);

    await screen.findByText("Invalidated 12,345 keys", {}, WAIT);
    expect(api.calls("/api/invalidate/pattern", "POST")[0].body).toEqual({ pattern: "session:*", dryRun: false, confirm: true });
  });

  test("the threshold is the one the service's preview states, not a copy", async () => {
    const user = userEvent.setup();
    previews["cart:*"] = exact(60, ["cart:1"], 50);
    api.on("POST", "/api/invalidate/pattern", ok(accepted("inv-5"), 202));
    completes("inv-5", { matched: 60, deleted: 60 });
    renderAt(<InvalidationPage />, "/invalidation?target=cart:*");
    await screen.findByTestId("preview-count", {}, WAIT);
    await user.click(screen.getByRole("button", { name: "Invalidate…" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Invalidate" }));
    await screen.findByText("Invalidated 60 keys", {}, WAIT);
    expect(api.calls("/api/invalidate/pattern", "POST")[0].body).toEqual({ pattern: "cart:*", dryRun: false, confirm: true });
  });

  test("the Everything template needs 'everything' typed; Esc backs out and nothing is sent", async () => {
    const user = userEvent.setup();
    previews["*"] = exact(3, ["a", "b", "c"]);
    const view = renderAt(<InvalidationPage />, "/invalidation");
    await user.click(screen.getByRole("button", { name: "Everything" }));
    expect((patternBox() as HTMLInputElement).value).toBe("*");
    await screen.findByTestId("preview-count", {}, WAIT);
    await user.click(screen.getByRole("button", { name: "Invalidate…" }));
    expect(screen.getByRole("dialog").textContent).toContain("Type everything to confirm");

    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(api.calls(/^\/api\/invalidate/, "POST")).toHaveLength(0);
    expect((patternBox() as HTMLInputElement).value).toBe("*");
    expect(view.search().get("target")).toBe("*");
  });

  test("a dry run reports what would be invalidated", async () => {
    const user = userEvent.setup();
    previews["product:*"] = exact(250);
    api.on("POST", "/api/invalidate/pattern", (request) => ok(accepted("dry-1", (request.body as { dryRun: boolean }).dryRun), 202));
    completes("dry-1", { dryRun: true, matched: 250, deleted: 0 });
    renderAt(<InvalidationPage />, "/invalidation?target=product:*");
    await user.click(screen.getByRole("button", { name: "Dry run" }));
    await screen.findByText("Dry run: 250 keys would be invalidated", {}, WAIT);
    expect(api.calls("/api/invalidate/pattern", "POST")[0].body).toMatchObject({ pattern: "product:*", dryRun: true });
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  test("a failed invalidation says why", async () => {
    const user = userEvent.setup();
    previews["product:*"] = exact(5);
    api.on("POST", "/api/invalidate/pattern", ok(accepted("inv-3"), 202));
    completes("inv-3", { status: "failed", error: "L2 unavailable", matched: null, deleted: null });
    renderAt(<InvalidationPage />, "/invalidation?target=product:*");
    await screen.findByTestId("preview-count", {}, WAIT);
    await user.click(screen.getByRole("button", { name: "Invalidate…" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Invalidate" }));
    const result = await screen.findByText("Failed: L2 unavailable", {}, WAIT);
    expect(result.closest("[data-testid=console-result]")!.className).toContain("text-danger");
  });

  test("keys from the URL: counted, typed confirmation at 100 or more, sent as keys", async () => {
    const user = userEvent.setup();
    const keys = Array.from({ length: 120 }, (_, i) => `cart:${i}`);
    api.on("POST", "/api/invalidate", ok(accepted("inv-4"), 202));
    completes("inv-4", { kind: "keys", matched: 120, deleted: 120 });
    renderAt(<InvalidationPage />, `/invalidation?mode=keys&target=${keys.join(",")}`);
    expect((screen.getByRole("radio", { name: "Keys" }) as HTMLInputElement).checked).toBe(true);
    expect(within(previewPanel()).getByText("120 keys")).toBeTruthy();
    expect((screen.getByRole("button", { name: "Dry run" }) as HTMLButtonElement).disabled).toBe(true); // keys have no dry run
    await user.click(await screen.findByRole("button", { name: "Invalidate…" }));
    const dialog = screen.getByRole("dialog");
    expect(dialog.textContent).toContain("Type 120 to confirm");
    await user.type(within(dialog).getByLabelText("Confirmation"), "120{Enter}");
    await screen.findByText("Invalidated: 120 of 120 keys deleted", {}, WAIT);
    expect(api.calls("/api/invalidate", "POST")[0].body).toEqual({ keys, reason: "dashboard: console" });
  });

  test("read-only mode and a viewer token disable the actions and say why", async () => {
    updateSettings({ readOnly: true });
    const first = renderAt(<InvalidationPage />, "/invalidation?target=product:*");
    expect(await screen.findByText("Read-only mode is on.", {}, WAIT)).toBeTruthy();
    expect((screen.getByRole("button", { name: "Invalidate…" }) as HTMLButtonElement).disabled).toBe(true);
    first.unmount();

    signIn(api, "viewer");
    renderAt(<InvalidationPage />, "/invalidation?target=product:*");
    expect(await screen.findByText("Needs an operator token.", {}, WAIT)).toBeTruthy();
    expect((screen.getByRole("button", { name: "Dry run" }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("URL state", () => {
  test("mode and target are restored from the URL, and switching mode writes it back", async () => {
    const user = userEvent.setup();
    const view = renderAt(<InvalidationPage />, "/invalidation?mode=tags&target=catalog,eu&other=kept");
    expect((screen.getByRole("radio", { name: "Tags" }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole("textbox", { name: "Tags" }) as HTMLTextAreaElement).value).toBe("catalog,eu");

    await user.click(screen.getByRole("radio", { name: "Pattern" }));
    expect(view.search().get("mode")).toBeNull(); // the default is left out
    expect(view.search().get("target")).toBeNull();
    expect(view.search().get("other")).toBe("kept"); // unknown params are not ours to drop
    expect((patternBox() as HTMLInputElement).value).toBe("");
  });

  test("an invalid mode falls back to the default, and the audit tab is a URL away", async () => {
    api.on("GET", "/api/invalidations", ok({ items: [record("inv-9", { matched: 3, deleted: 3 })], nextCursor: null }));
    api.on("GET", "/api/audit/verify", ok({ intact: true, checked: 1, firstBad: null }));
    renderAt(<InvalidationPage />, "/invalidation?mode=everything&tab=audit");
    expect(screen.getByRole("tab", { name: "Audit trail" }).getAttribute("aria-selected")).toBe("true");
    expect((await screen.findByTestId("audit-verify", {}, WAIT)).textContent).toMatch(/Audit chain intact \(1 rows checked\)|Verifying/);
    const table = await screen.findByRole("table", { name: "Audit trail" }, WAIT);
    expect(within(table).getAllByText("product:*").length).toBeGreaterThan(0); // in its column, and under the time for phones
  });
});
