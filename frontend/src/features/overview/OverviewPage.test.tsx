// @vitest-environment jsdom
import { fireEvent, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { advance, fakeApi, ok, renderAt, signIn, type FakeApi } from "../../../testing/components";
import type { MetricsHistory, MetricsSnapshot } from "../../api/monitoring";
import { updateSettings } from "../../lib/settings";
import { OverviewPage } from "./OverviewPage";

const NOW = new Date("2025-06-01T12:00:00Z").getTime();

const L3_OFF: MetricsSnapshot["l3"] = {
  state: "off",
  instancesOk: 0,
  instancesDegraded: 0,
  instancesOff: 3,
  breakerOpenInstances: 0,
  pendingInvalidations: 0,
  copied: 0,
  copyFailures: 0,
  copierLagSeconds: null,
};

function snapshot(l3 = L3_OFF): MetricsSnapshot {
  const totals = {
    hitsL1: 90,
    hitsL2: 5,
    hitsL3: 0,
    misses: 5,
    loads: 5,
    loadFailures: 0,
    sets: 5,
    deletes: 0,
    evictions: 0,
    errors: 0,
    invalidations: 0,
    invalidatedKeys: 0,
    warmingRuns: 0,
    warmedKeys: 0,
  };
  return {
    at: new Date(Date.now()).toISOString(),
    windowSeconds: 10,
    instances: 3,
    hitRatio: 0.95,
    hitRatioTotal: 0.9,
    opsPerSecond: [{ tier: "l1", opsPerSecond: 12.5 }],
    totalOpsPerSecond: 12.5,
    latencyMs: [{ tier: "l1", p50: 0.04, p90: 0.06, p95: 0.1, p99: 0.4, count: 40 }],
    totals,
    errorsByType: [],
    invalidationsByKind: [],
    warmingRunsByStatus: [],
    sizes: { l1Bytes: 3_800, l1Entries: 30 },
    breakerOpenInstances: 0,
    writeBehind: null,
    coherenceLagSeconds: null,
    l3,
    perInstance: [],
  };
}

const history = (window: string): MetricsHistory => ({ window, resolution: "1s", points: [] });

let api: FakeApi;
let visibility: DocumentVisibilityState;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
  // Recharts' ResponsiveContainer observes its size; jsdom has no ResizeObserver.
  vi.stubGlobal(
    "ResizeObserver",
    class {
      observe() {}
      unobserve() {}
      disconnect() {}
    },
  );
  api = fakeApi();
  signIn(api, "viewer");
  updateSettings({ pollMs: 2_000 });
  api.on("GET", "/api/metrics", () => ok(snapshot()));
  api.on("GET", "/api/metrics/history", (request) => ok(history(request.query.get("window") ?? "")));
  visibility = "visible";
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => visibility });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  Reflect.deleteProperty(document, "visibilityState");
});

const setVisibility = (state: DocumentVisibilityState) => {
  visibility = state;
  fireEvent(document, new Event("visibilitychange"));
};
const snapshots = () => api.calls("/api/metrics").length;

describe("Overview", () => {
  test("the time window comes from the URL and is written back (the default left out)", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const view = renderAt(<OverviewPage />, "/overview?window=1h");
    await advance(0);
    expect(screen.getByRole("tab", { name: "1h" }).getAttribute("aria-selected")).toBe("true");
    expect(api.calls("/api/metrics/history").map((r) => r.query.get("window"))).toEqual(["1h"]);

    await user.click(screen.getByRole("tab", { name: "24h" }));
    await advance(0);
    expect(view.search().get("window")).toBe("24h");
    expect(api.calls("/api/metrics/history").map((r) => r.query.get("window"))).toContain("24h");
    await user.click(screen.getByRole("tab", { name: "5m" }));
    expect(view.search().get("window")).toBeNull();
  });

  test("an unknown window falls back to 5m", async () => {
    renderAt(<OverviewPage />, "/overview?window=2d");
    await advance(0);
    expect(screen.getByRole("tab", { name: "5m" }).getAttribute("aria-selected")).toBe("true");
  });

  test("polls at the Settings interval, says when it last updated, and pauses while the tab is hidden", async () => {
    updateSettings({ pollMs: 10_000 });
    renderAt(<OverviewPage />, "/overview");
    await advance(0);
    expect(screen.getByTestId("stat-hit-ratio").textContent).toContain("95%");
    expect(screen.getByTestId("updated-ago").textContent).toBe("updated just now");
    const first = snapshots();

    await advance(5_000);
    expect(screen.getByTestId("updated-ago").textContent).toBe("updated 5 s ago");
    expect(snapshots()).toBe(first);
    await advance(5_000);
    expect(snapshots()).toBe(first + 1);
    expect(screen.getByTestId("updated-ago").textContent).toBe("updated just now");

    setVisibility("hidden");
    await advance(0);
    expect(screen.getByTestId("updated-ago").textContent).toBe("paused (tab hidden)");
    await advance(60_000);
    expect(snapshots()).toBe(first + 1); // no polling in a hidden tab

    setVisibility("visible");
    await advance(0);
    expect(screen.getByTestId("updated-ago").textContent).toBe("updated 1 min ago");
    await advance(10_000);
    expect(snapshots()).toBe(first + 2);
    expect(screen.getByTestId("updated-ago").textContent).toBe("updated just now");
  });

  test("the L3 panel says plainly when L3 is off", async () => {
    renderAt(<OverviewPage />, "/overview");
    await advance(0);
    expect(screen.getByTestId("l3-off").textContent).toContain("Off: no instance has an L3 store configured");
    expect(screen.queryByTestId("l3-state")).toBeNull();
  });

  test("the L3 panel shows the state, open breakers, pending invalidations, copies and the copier lag", async () => {
    const l3 = { ...L3_OFF, state: "degraded" as const, instancesDegraded: 1, instancesOk: 1, instancesOff: 1, breakerOpenInstances: 1 };
    api.on("GET", "/api/metrics", () => ok(snapshot({ ...l3, pendingInvalidations: 1_250, copied: 48_000, copyFailures: 3, copierLagSeconds: 42.5 })));
    renderAt(<OverviewPage />, "/overview");
    await advance(0);
    expect(screen.queryByTestId("l3-off")).toBeNull();
    expect(screen.getByTestId("l3-state").textContent).toBe("degraded(1 without L3)");
    expect(screen.getByTestId("l3-breaker").textContent).toBe("open on 1");
    expect(screen.getByTestId("l3-pending").textContent).toBe("1,250");
    expect(screen.getByTestId("l3-copied").textContent).toBe("48,0003 failed batches");
    expect(screen.getByTestId("l3-copier-lag").textContent).toBe("42.5 s");
  });

  test("the L3 panel says when no copy batch has finished yet instead of showing a lag of 0", async () => {
    api.on("GET", "/api/metrics", () => ok(snapshot({ ...L3_OFF, state: "ok", instancesOk: 1, instancesOff: 0 })));
    renderAt(<OverviewPage />, "/overview");
    await advance(0);
    expect(screen.getByTestId("l3-copier-lag").textContent).toBe("no batch copied yet");
    api.on("GET", "/api/metrics", () => ok(snapshot({ ...L3_OFF, state: "ok", instancesOk: 1, instancesOff: 0, copierLagSeconds: 0.18 })));
    await advance(2_000);
    expect(screen.getByTestId("l3-copier-lag").textContent).toBe("180 ms");
  });
});
