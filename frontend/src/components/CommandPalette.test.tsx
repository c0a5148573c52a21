// @vitest-environment jsdom
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { fakeApi, renderAt, signIn, type FakeApi } from "../../testing/components";
import { getSettings, updateSettings } from "../lib/settings";
import { Layout } from "./Layout";

const WAIT = { timeout: 5_000 };

let api: FakeApi;

beforeEach(() => {
  api = fakeApi();
  signIn(api, "operator");
  updateSettings({ theme: "light" });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

const palette = () => screen.queryByRole("dialog", { name: "Command palette" });
const input = () => within(palette()!).getByRole("combobox", { name: "Command" });
const options = () => within(palette()!).getAllByRole("option");

describe("command palette", () => {
  test("Ctrl+K opens it with the input focused; typing filters; Enter goes there and closes it", async () => {
    const user = userEvent.setup();
    const view = renderAt(<Layout />, "/overview");
    expect(palette()).toBeNull();
    await user.keyboard("{Control>}k{/Control}");
    expect(document.activeElement).toBe(input());

    await user.keyboard("warm");
    expect(options()[0].textContent).toContain("Warming Jobs");
    expect(options()[0].getAttribute("aria-selected")).toBe("true");
    expect(input().getAttribute("aria-activedescendant")).toBe("cmd-warming");
    await user.keyboard("{Enter}");
    expect(view.router.state.location.pathname).toBe("/warming");
    expect(palette()).toBeNull();
  });

  test("arrow keys move the selection, and words match in any order", async () => {
    const user = userEvent.setup();
    const view = renderAt(<Layout />, "/overview");
    await user.click(screen.getByRole("button", { name: /Commands/ }));
    await user.keyboard("lab stampede");
    expect(options().map((o) => o.firstChild!.textContent)).toEqual(["Lab: stampede", 'Search keys matching "lab stampede"']);
    await user.keyboard("{ArrowDown}{ArrowDown}{ArrowUp}{Enter}"); // the selection stays within the list
    expect(view.router.state.location.pathname + view.router.state.location.search).toBe("/lab?scenario=stampede");
  });

  test("free text searches keys: wrapped in * unless it is already a pattern", async () => {
    const user = userEvent.setup();
    const view = renderAt(<Layout />, "/overview");
    await user.keyboard("{Control>}k{/Control}user:42{Enter}");
    expect(view.search().get("match")).toBe("*user:42*");
    await user.keyboard("{Control>}k{/Control}session:*{Enter}");
    expect(view.router.state.location.pathname).toBe("/explorer");
    expect(view.search().get("match")).toBe("session:*");
  });

  test("settings commands apply at once", async () => {
    const user = userEvent.setup();
    renderAt(<Layout />, "/overview");
    await user.keyboard("{Control>}k{/Control}theme dark{Enter}");
    expect(getSettings().theme).toBe("dark");
    expect(document.documentElement.classList.contains("dark")).toBe(true);
    await user.keyboard("{Control>}k{/Control}read-only{Enter}");
    expect(getSettings().readOnly).toBe(true);
    expect(await screen.findByText("read-only", {}, WAIT)).toBeTruthy(); // the header says so
    await user.keyboard("{Control>}k{/Control}read-only{Enter}");
    expect(getSettings().readOnly).toBe(false);
  });

  test("Esc, Ctrl+K again and a click outside close it; nothing runs", async () => {
    const user = userEvent.setup();
    const view = renderAt(<Layout />, "/overview");
    await user.keyboard("{Control>}k{/Control}");
    await user.keyboard("{Escape}");
    expect(palette()).toBeNull();
    await user.keyboard("{Control>}k{/Control}");
    await user.keyboard("{Control>}k{/Control}");
    expect(palette()).toBeNull();
    await user.keyboard("{Control>}k{/Control}");
    await user.click(palette()!.parentElement!);
    expect(palette()).toBeNull();
    expect(view.router.state.location.pathname).toBe("/overview");
  });
});

describe("header", () => {
  test("shows who the token is", async () => {
    renderAt(<Layout />, "/overview");
    expect((await screen.findByTestId("token-status", {}, WAIT)).textContent).toBe("operator-user · operator");
  });
});
