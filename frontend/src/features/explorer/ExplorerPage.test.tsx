// @vitest-environment jsdom
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { fakeApi, layoutHeight, ok, renderAt, signIn, type FakeApi } from "../../../testing/components";
import type { KeyDetail, KeyPage, ListedKey } from "../../api/cache";
import type { InvalidationRecord } from "../../api/invalidation";
import { ExplorerPage } from "./ExplorerPage";

const WAIT = { timeout: 5_000 };

let api: FakeApi;
let keyspace: Map<string, ListedKey>;
let undoLayout: () => void;

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );

/** cache-manager's SCAN paging over `keyspace`: the cursor is an offset, exactly `count` keys a call. */
function serveKeys() {
  api.on("GET", "/api/keys", (request) => {
    const match = glob(request.query.get("match") ?? "*");
    const all = [...keyspace.values()].filter((k) => match.test(k.key));
    const from = Number(request.query.get("cursor") ?? "0");
    const count = Number(request.query.get("count") ?? "50");
    const keys = all.slice(from, from + count);
    const page: KeyPage = { keys, cursor: from + count >= all.length ? "0" : String(from + count), scanned: keys.length };
    return ok(page);
  });
  api.on("GET", /^\/api\/keys\/.+/, (request) => {
    const key = keyspace.get(request.path.slice("/api/keys/".length));
    if (!key) return { status: 404, json: { code: "not_found", message: "no such key", details: null } };
    const detail: KeyDetail = { ...key, preview: JSON.stringify({ id: key.key, price: 9.5 }), truncated: false, valueBytes: 30, negative: false };
    return ok(detail);
  });
}

function seed(prefix: string, n: number) {
  for (let i = 0; i < n; i++) {
    const key = `${prefix}${String(i).padStart(3, "0")}`;
    keyspace.set(key, { key, tiers: ["l2"], ttlMs: 600_000, sizeBytes: 120, tags: [] });
  }
}

beforeEach(() => {
  api = fakeApi();
  signIn(api, "operator");
  keyspace = new Map();
  seed("user:", 130);
  seed("product:", 10);
  serveKeys();
  undoLayout = layoutHeight(560);
});

afterEach(() => {
  undoLayout();
  vi.unstubAllGlobals();
});

const keyCalls = () => api.calls("/api/keys").map((r) => [r.query.get("match"), r.query.get("cursor")]);

describe("Cache Explorer: URL state", () => {
  test("pattern, pages loaded and the open key are restored from the URL", async () => {
    renderAt(<ExplorerPage />, "/explorer?match=user:*&pages=2&key=user:007");
    expect((screen.getByRole("textbox", { name: "Key pattern" }) as HTMLInputElement).value).toBe("user:*");
    await screen.findByText(/^100 keys shown/, {}, WAIT);
    expect(keyCalls()).toEqual([
      ["user:*", null],
      ["user:*", "50"],
    ]); // each page once
    const detail = screen.getByTestId("key-detail");
    expect(within(detail).getByRole("heading").textContent).toBe("user:007");
    expect((await within(detail).findByTestId("key-value", {}, WAIT)).textContent).toBe('{\n  "id": "user:007",\n  "price": 9.5\n}');
  });

  test("no params: every key, one page; invalid params fall back to the defaults", async () => {
    renderAt(<ExplorerPage />, "/explorer?pages=0&match=");
    expect((screen.getByRole("textbox", { name: "Key pattern" }) as HTMLInputElement).value).toBe("*");
    await screen.findByText(/^50 keys shown/, {}, WAIT);
    expect(keyCalls()).toEqual([["*", null]]);
    expect(screen.queryByTestId("key-detail")).toBeNull();
  });

  test("a search writes the pattern back, starting over at one page with no key open", async () => {
    const user = userEvent.setup();
    const view = renderAt(<ExplorerPage />, "/explorer?match=user:*&pages=2&key=user:007");
    await screen.findByText(/^100 keys shown/, {}, WAIT);
    const box = screen.getByRole("textbox", { name: "Key pattern" });
    await user.clear(box);
    await user.type(box, "product:*{Enter}");
    expect(view.search().toString()).toBe("match=product%3A*");
    expect(view.router.state.historyAction).toBe("PUSH"); // a search is a step Back can undo
    await screen.findByText(/^10 keys shown · 10 scanned · scan complete/, {}, WAIT);
    expect(screen.queryByTestId("key-detail")).toBeNull();
    expect(screen.queryByRole("button", { name: "Scan more" })).toBeNull();

    await user.clear(box);
    await user.type(box, "   {Enter}"); // nothing typed: every key
    expect(view.search().get("match")).toBeNull();
  });

  test("Scan more adds a page to the URL; opening a row puts its key there; Esc takes it out", async () => {
    const user = userEvent.setup();
    const view = renderAt(<ExplorerPage />, "/explorer?match=user:*");
    await screen.findByText(/^50 keys shown/, {}, WAIT);
    await user.click(screen.getByRole("button", { name: "Scan more" }));
    expect(view.search().get("pages")).toBe("2");
    await screen.findByText(/^100 keys shown/, {}, WAIT);

    await user.click(screen.getByRole("button", { name: "Open user:003" }));
    expect(view.search().get("key")).toBe("user:003");
    await within(screen.getByTestId("key-detail")).findByTestId("key-value", {}, WAIT);
    await user.keyboard("{Escape}");
    expect(view.search().get("key")).toBeNull();
    expect(view.search().get("pages")).toBe("2");
    expect(screen.queryByTestId("key-detail")).toBeNull();
  });
});

describe("Cache Explorer: bulk invalidation", () => {
  function invalidationService() {
    api.on("POST", "/api/invalidate", (request) => {
      const { keys } = request.body as { keys: string[] };
      for (const key of keys) keyspace.delete(key);
      return ok({ id: "inv-1", state: "pending", dryRun: false, statusUrl: "/api/invalidations/inv-1" }, 202);
    });
    api.on("GET", "/api/invalidations/inv-1", () => {
      const deleted = (api.calls("/api/invalidate", "POST")[0].body as { keys: string[] }).keys.length;
      return ok({ id: "inv-1", status: "completed", matched: deleted, deleted } as Partial<InvalidationRecord>);
    });
  }

  test("select all, type the count to confirm, and the keys are gone", async () => {
    const user = userEvent.setup();
    invalidationService();
    renderAt(<ExplorerPage />, "/explorer?match=user:*&pages=3");
    await screen.findByText(/^130 keys shown · 130 scanned · scan complete/, {}, WAIT);
    await user.click(screen.getByRole("checkbox", { name: "Select all loaded keys" }));
    expect(screen.getByText("130 selected")).toBeTruthy();
    await user.click(screen.getByRole("button", { name: "Invalidate selected" }));

    const dialog = screen.getByRole("dialog", { name: /Invalidate 130 keys\?/ });
    const action = within(dialog).getByRole("button", { name: "Invalidate" }) as HTMLButtonElement;
    expect(action.disabled).toBe(true);
    await user.type(within(dialog).getByLabelText("Confirmation"), "130");
    await user.click(action);

    expect((await screen.findByTestId("invalidation-result", {}, WAIT)).textContent).toBe("Invalidated: 130 of 130 keys deleted");
    const sent = api.calls("/api/invalidate", "POST")[0].body as { keys: string[]; reason: string };
    expect(sent.keys).toHaveLength(130);
    expect(new Set(sent.keys)).toEqual(new Set([...Array(130).keys()].map((i) => `user:${String(i).padStart(3, "0")}`)));
    expect(sent.reason).toBe("dashboard: explorer (130 keys)");
    await screen.findByText("No keys match user:*.", {}, WAIT); // the list was reloaded
    expect(screen.queryByText(/selected$/)).toBeNull();
  });

  test("a few keys need no typing; Esc closes the dialog but keeps the selection and the open key", async () => {
    const user = userEvent.setup();
    invalidationService();
    const view = renderAt(<ExplorerPage />, "/explorer?match=product:*&key=product:001");
    await screen.findByText(/^10 keys shown/, {}, WAIT);
    await user.click(screen.getByRole("checkbox", { name: "Select product:002" }));
    await user.click(screen.getByRole("checkbox", { name: "Select product:003" }));
    await user.click(screen.getByRole("button", { name: "Invalidate selected" }));
    expect(within(screen.getByRole("dialog")).queryByLabelText("Confirmation")).toBeNull();

    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(screen.getByText("2 selected")).toBeTruthy();
    expect(view.search().get("key")).toBe("product:001");

    await user.click(screen.getByRole("button", { name: "Invalidate selected" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Invalidate" }));
    expect((await screen.findByTestId("invalidation-result", {}, WAIT)).textContent).toBe("Invalidated: 2 of 2 keys deleted");
    await screen.findByText(/^8 keys shown/, {}, WAIT);
    expect(view.search().get("key")).toBe("product:001"); // not among the invalidated
  });

  test("without the invalidation service, keys are deleted through cache-manager (and it says so)", async () => {
    const user = userEvent.setup();
    api.on("POST", "/api/batch/delete", (request) => {
      const { keys } = request.body as { keys: string[] };
      for (const key of keys) keyspace.delete(key);
      return ok({ deleted: keys.length });
    });
    const view = renderAt(<ExplorerPage />, "/explorer?match=product:*&key=product:004");
    const detail = await screen.findByTestId("key-detail", {}, WAIT);
    await user.click(await within(detail).findByRole("button", { name: "Invalidate" }, WAIT));
    expect(screen.getByRole("dialog", { name: /Invalidate 1 key\?/ }).textContent).toContain("product:004 will be removed");
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Invalidate" }));
    const result = await screen.findByTestId("invalidation-result", {}, WAIT);
    expect(result.textContent).toContain("Deleted 1 of 1 keys (cache-manager; the invalidation service is not deployed, so there is no audit row)");
    expect(api.calls("/api/invalidate", "POST")).toHaveLength(1); // tried first
    expect(api.calls("/api/batch/delete", "POST")[0].body).toEqual({ keys: ["product:004"] });
    expect(view.search().get("key")).toBeNull(); // the open key was invalidated: its panel closes
  });

  test("a viewer sees keys but no way to select or invalidate them", async () => {
    signIn(api, "viewer");
    renderAt(<ExplorerPage />, "/explorer?match=product:*");
    await screen.findByText(/^10 keys shown/, {}, WAIT);
    await screen.findByRole("button", { name: "Open product:000" }, WAIT);
    expect(screen.queryAllByRole("checkbox")).toHaveLength(0);
  });
});
