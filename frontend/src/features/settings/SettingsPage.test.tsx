// @vitest-environment jsdom
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, test } from "vitest";
import { apiError, fakeApi, ok, renderAt, signIn, type FakeApi } from "../../../testing/components";
import type { CachePolicy, NamespacePolicy, PolicyAuditEntry } from "../../api/policy";
import { updateSettings } from "../../lib/settings";
import { SettingsPage } from "./SettingsPage";

let api: FakeApi;
/** The service's state: what PUT and DELETE change and GET answers. */
let state: CachePolicy;
let audit: PolicyAuditEntry[];

function policy(): CachePolicy {
  return {
    version: 3,
    l1: { policy: "w-tinylfu", maxEntries: 100_000, maxBytes: 64 * 1024 * 1024, source: "env" },
    defaults: { defaultTtlMs: 300_000, l3: false, l3RetentionMs: 7 * 86_400_000 },
    namespaces: [{ namespace: "session:", defaultTtlMs: 60_000, l3: false }],
    problems: [],
    instance: { instanceId: "cm-1", l1: { policy: "w-tinylfu", maxEntries: 100_000, maxBytes: 64 * 1024 * 1024, entries: 42, bytes: 4096 } },
  };
}

function changed(target: string, before: object | null, after: object | null) {
  state = { ...state, version: state.version + 1 };
  audit = [{ id: audit.length + 1, at: "2025-06-01T12:00:00Z", actor: "admin-user", target, before, after, version: state.version }, ...audit];
  return ok({ change: audit[0], policy: state });
}

beforeEach(() => {
  api = fakeApi();
  state = policy();
  audit = [];
  api.on("GET", "/api/cache-policy", () => ok(state));
  api.on("GET", "/api/cache-policy/audit", () => ok({ entries: audit }));
  api.on("PUT", "/api/cache-policy/l1", (request) => {
    const l1 = request.body as CachePolicy["l1"];
    if (l1.maxEntries < 1) return apiError(400, "invalid_argument", 'L1 settings: "maxEntries" must be an integer from 1 to 1073741824 entries, got 0');
    const before = state.l1;
    state = { ...state, l1: { ...l1, source: "runtime" }, instance: { ...state.instance, l1: { ...state.instance.l1, ...l1 } } };
    return changed("l1", before, l1);
  });
  api.on("PUT", /^\/api\/cache-policy\/namespaces\//, (request) => {
    const namespace = request.path.split("/").pop()!;
    const entry = { namespace, ...(request.body as object) } as NamespacePolicy;
    const before = state.namespaces.find((n) => n.namespace === namespace) ?? null;
    state = { ...state, namespaces: [...state.namespaces.filter((n) => n.namespace !== namespace), entry] };
    return changed(`namespace ${namespace}`, before, request.body as object);
  });
  api.on("DELETE", /^\/api\/cache-policy\/namespaces\//, (request) => {
    const namespace = request.path.split("/").pop()!;
    const before = state.namespaces.find((n) => n.namespace === namespace)!;
    state = { ...state, namespaces: state.namespaces.filter((n) => n.namespace !== namespace) };
    return changed(`namespace ${namespace}`, before, null);
  });
});

const section = () => screen.findByTestId("cache-policy");

describe("Settings: cache policy", () => {
  test("an admin sees the L1 settings this instance applies and the namespace policies", async () => {
    signIn(api, "admin");
    renderAt(<SettingsPage />, "/settings");
    const policySection = await section();
    expect((await within(policySection).findByTestId("l1-applied")).textContent).toContain("This instance (cm-1) applies w-tinylfu, 100,000 entries, 64 MB");
    expect(within(policySection).getByText("from the environment")).toBeTruthy();
    const row = within(screen.getByRole("table", { name: "Namespace policies" }))
      .getByText("session:")
      .closest("tr")!;
    expect(row.textContent).toMatch(/session:\s*1 min\s*off/);
    expect(screen.getByText(/No change yet/)).toBeTruthy();
    expect(screen.getByTestId("namespace-defaults").textContent).toBe(
      "Defaults: TTL 5 min · L3 off · retention 7 d. This deployment runs no L3 tier: L3 settings take effect once it does.",
    );
  });

  test("stored settings the service skipped are listed with their reason", async () => {
    state = { ...state, problems: ['skipped the stored field "ns:bad:": "defaultTtlMs" must be an integer'] };
    signIn(api, "admin");
    renderAt(<SettingsPage />, "/settings");
    expect((await screen.findByRole("list", { name: "Stored settings skipped" })).textContent).toContain('skipped the stored field "ns:bad:"');
  });

  test.each(["viewer", "operator"] as const)("a %s does not see the section nor ask for the policy", async (role) => {
    signIn(api, role);
    renderAt(<SettingsPage />, "/settings");
    await screen.findByTestId("settings-who");
    expect(screen.queryByTestId("cache-policy")).toBeNull();
    expect(api.calls("/api/cache-policy")).toHaveLength(0);
  });

  test("changing the L1 policy sends all three settings, then shows the new state and the audit row", async () => {
    signIn(api, "admin");
    const user = userEvent.setup();
    renderAt(<SettingsPage />, "/settings");
    await section();
    await user.selectOptions(await screen.findByLabelText("Eviction policy"), "lru");
    await user.clear(screen.getByLabelText("Max size (MiB)"));
    await user.type(screen.getByLabelText("Max size (MiB)"), "16");
    await user.click(screen.getByRole("button", { name: "Apply to every instance" }));
    expect((await screen.findByRole("status")).textContent).toContain("L1 settings sent to every instance.");
    expect(api.calls("/api/cache-policy/l1", "PUT")[0].body).toEqual({ policy: "lru", maxEntries: 100_000, maxBytes: 16 * 1024 * 1024 });
    expect(await screen.findByText("set here")).toBeTruthy();
    const changes = await screen.findByRole("list", { name: "Recent cache policy changes" });
    expect(changes.textContent).toContain("admin-user");
    expect(changes.textContent).toContain("w-tinylfu · 100,000 entries · 64 MB → lru · 100,000 entries · 16 MB");
  });

  test("a value the service refuses shows its message", async () => {
    signIn(api, "admin");
    const user = userEvent.setup();
    renderAt(<SettingsPage />, "/settings");
    await section();
    await user.clear(await screen.findByLabelText("Max entries"));
    await user.type(screen.getByLabelText("Max entries"), "0");
    await user.click(screen.getByRole("button", { name: "Apply to every instance" }));
    expect((await screen.findByRole("alert")).textContent).toContain('"maxEntries" must be an integer from 1');
  });

  test("a namespace is added with its TTL in seconds and retention in days, edited, and removed", async () => {
    signIn(api, "admin");
    const user = userEvent.setup();
    renderAt(<SettingsPage />, "/settings");
    await section();
    await user.type(await screen.findByLabelText("Namespace"), "product:");
    await user.type(screen.getByLabelText("Default TTL (s)"), "90");
    await user.selectOptions(screen.getByLabelText("L3"), "on");
    await user.type(screen.getByLabelText("L3 retention (days)"), "7");
    await user.click(screen.getByRole("button", { name: "Save namespace" }));
    expect(api.calls(/namespaces\/product:$/, "PUT")[0].body).toEqual({ defaultTtlMs: 90_000, l3: true, l3RetentionMs: 7 * 86_400_000 });
    const table = await screen.findByRole("table", { name: "Namespace policies" });
    expect(await within(table).findByText("product:")).toBeTruthy();

    await user.click(within(table).getByRole("button", { name: "Edit session:" }));
    expect((screen.getByLabelText("Namespace") as HTMLInputElement).value).toBe("session:");
    expect((screen.getByLabelText("Default TTL (s)") as HTMLInputElement).value).toBe("60");
    expect((screen.getByLabelText("L3") as HTMLInputElement).value).toBe("off");

    await user.click(within(table).getByRole("button", { name: "Remove session:" }));
    expect((await screen.findByRole("status")).textContent).toContain("session: uses the defaults again.");
    expect(api.calls(/namespaces\/session:$/, "DELETE")).toHaveLength(1);
    await screen.findByText(/namespace session:/);
    expect(within(screen.getByRole("table", { name: "Namespace policies" })).queryByText("session:")).toBeNull();
  });

  test("in read-only mode an admin sees the policy but cannot change it", async () => {
    signIn(api, "admin");
    updateSettings({ readOnly: true });
    renderAt(<SettingsPage />, "/settings");
    await section();
    expect((await screen.findByRole("button", { name: "Apply to every instance" })).matches(":disabled")).toBe(true);
    expect(screen.getByRole("button", { name: "Save namespace" }).matches(":disabled")).toBe(true);
  });
});
