// @vitest-environment jsdom
import { fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { advance, layoutHeight } from "../../../testing/components";
import { KeyTable, type Row } from "./KeyTable";

const NOW = new Date("2025-06-01T12:00:00Z").getTime();

function row(key: string, ttlMs: number, fetchedAt = NOW, extra: Partial<Row> = {}): Row {
  return { key, tiers: ["l1", "l2"], ttlMs, sizeBytes: 1536, tags: ["catalog"], fetchedAt, ...extra };
}

function renderTable(rows: Row[], props: Partial<Parameters<typeof KeyTable>[0]> = {}) {
  const handlers = { onOpen: vi.fn(), onToggle: vi.fn(), onToggleAll: vi.fn() };
  render(<KeyTable rows={rows} selectedKey="" checked={new Set()} selectable {...handlers} {...props} />);
  return handlers;
}

const ttlOf = (key: string) => document.querySelector(`[data-key="${key}"] [data-testid=ttl]`)?.textContent;

let undoLayout: () => void;
let visibility: DocumentVisibilityState = "visible";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
  undoLayout = layoutHeight(560);
  visibility = "visible";
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => visibility });
});

afterEach(() => {
  vi.useRealTimers();
  undoLayout();
  Reflect.deleteProperty(document, "visibilityState");
});

function setVisibility(state: DocumentVisibilityState) {
  visibility = state;
  fireEvent(document, new Event("visibilitychange"));
}

describe("KeyTable: TTLs count down", () => {
  test("every second, from the TTL the list reported, to expired; no TTL stays No limit", async () => {
    renderTable([row("product:1", 65_000), row("config:flags", -1), row("session:9", 2_500)]);
    expect(ttlOf("product:1")).toBe("1 min 5 s");
    expect(ttlOf("config:flags")).toBe("No limit");
    expect(ttlOf("session:9")).toBe("2 s");

    await advance(1_000);
    expect(ttlOf("product:1")).toBe("1 min 4 s");
    expect(ttlOf("session:9")).toBe("1 s");

    await advance(2_000);
    expect(ttlOf("product:1")).toBe("1 min 2 s");
    expect(ttlOf("session:9")).toBe("expired");
    expect(document.querySelector('[data-key="session:9"] [data-testid=ttl]')!.className).toContain("text-danger");
    expect(document.querySelector('[data-key="product:1"] [data-testid=ttl]')!.className).not.toContain("text-danger");

    await advance(60_000);
    expect(ttlOf("product:1")).toBe("2 s");
    expect(ttlOf("config:flags")).toBe("No limit");
  });

  test("counts from when the row's page was fetched, not from when it is drawn", () => {
    renderTable([row("product:2", 30_000, NOW - 10_000), row("product:3", 5_000, NOW - 60_000)]);
    expect(ttlOf("product:2")).toBe("20 s");
    expect(ttlOf("product:3")).toBe("expired");
  });

  test("stops ticking while the tab is hidden and catches up when it is shown", async () => {
    renderTable([row("product:1", 65_000)]);
    setVisibility("hidden");
    await advance(10_000);
    expect(ttlOf("product:1")).toBe("1 min 5 s");
    expect(vi.getTimerCount()).toBe(0); // no interval left running in the background

    setVisibility("visible");
    await advance(0);
    expect(ttlOf("product:1")).toBe("55 s");
    await advance(1_000);
    expect(ttlOf("product:1")).toBe("54 s");
  });
});

describe("KeyTable: rows", () => {
  test("is virtualized: a long list puts only the visible rows (and some overscan) in the DOM", () => {
    renderTable(Array.from({ length: 2_000 }, (_, i) => row(`user:${i}`, 60_000)));
    const rendered = document.querySelectorAll("[role=row][data-key]").length;
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(60);
    expect(screen.getByRole("table", { name: "Keys" }).getAttribute("aria-rowcount")).toBe("2001");
  });

  test("shows tiers, size with the exact bytes on hover, and tags", () => {
    renderTable([row("product:1", 65_000, NOW, { tiers: ["l2"], sizeBytes: 5_000_000, tags: ["catalog", "eu"] })]);
    const cells = screen.getAllByRole("cell");
    expect(cells.map((c) => c.textContent)).toEqual(["", "product:1", "L2", "1 min 5 s", "4.8 MB", "catalog, eu"]);
    expect(cells[4].getAttribute("title")).toBe("5,000,000 bytes");
  });

  test("opening, selecting and the selected row", () => {
    const rows = [row("product:1", 1_000), row("product:2", 1_000)];
    const { onOpen, onToggle, onToggleAll } = renderTable(rows, { selectedKey: "product:2", checked: new Set(["product:1"]) });
    fireEvent.click(screen.getByRole("button", { name: "Open product:1" }));
    expect(onOpen).toHaveBeenCalledWith("product:1");

    const box = screen.getByRole("checkbox", { name: "Select product:2" });
    fireEvent.click(box);
    expect(onToggle).toHaveBeenCalledWith("product:2");
    expect(onOpen).toHaveBeenCalledTimes(1); // the checkbox does not open the row

    expect((screen.getByRole("checkbox", { name: "Select product:1" }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole("checkbox", { name: "Select all loaded keys" }) as HTMLInputElement).checked).toBe(false);
    fireEvent.click(screen.getByRole("checkbox", { name: "Select all loaded keys" }));
    expect(onToggleAll).toHaveBeenCalledTimes(1);
    expect(document.querySelector('[data-key="product:2"]')!.getAttribute("aria-selected")).toBe("true");
    expect(document.querySelector('[data-key="product:1"]')!.getAttribute("aria-selected")).toBe("false");
  });

  test("without the operator role there are no checkboxes", () => {
    renderTable([row("product:1", 1_000)], { selectable: false });
    expect(screen.queryAllByRole("checkbox")).toHaveLength(0);
  });
});
