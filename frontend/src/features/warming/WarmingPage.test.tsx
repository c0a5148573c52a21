// @vitest-environment jsdom
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { advance, fakeApi, ok, renderAt, signIn, type FakeApi } from "../../../testing/components";
import type { RunDetail, RunStatus, RunSummary, WarmingJob } from "../../api/warming";
import { updateSettings } from "../../lib/settings";
import { WarmingPage } from "./WarmingPage";

const NOW = new Date("2025-06-01T12:00:00Z").getTime();

const job: WarmingJob = {
  id: 1,
  name: "catalog",
  enabled: true,
  schedule: "0 4 * * *",
  timeZone: "UTC",
  source: { type: "keys", keys: ["product:1"] },
  priority: 5,
  batchSize: 100,
  concurrency: 4,
  nextRunAt: "2025-06-02T04:00:00Z",
  createdAt: "2025-05-01T00:00:00Z",
  updatedAt: "2025-05-01T00:00:00Z",
};

function summary(id: number, status: RunStatus, warmed: number): RunSummary {
  return {
    id,
    jobId: 1,
    jobName: "catalog",
    trigger: "manual",
    status,
    priority: 5,
    total: 30,
    warmed,
    failed: 0,
    skipped: 0,
    createdAt: new Date(NOW).toISOString(),
  };
}

function detail(id: number, status: RunStatus, warmed: number, extra: Partial<RunDetail> = {}): RunDetail {
  return {
    ...summary(id, status, warmed),
    sourceType: "keys",
    batchSize: 100,
    concurrency: 4,
    batches: 1,
    retries: 0,
    keysPerSecond: 60,
    durationMs: 500,
    errorSamples: [],
    cancelRequested: false,
    ...extra,
  };
}

let api: FakeApi;
/** The run's state on the service; each detail request moves it on by 10 keys. */
let run: { status: RunStatus; warmed: number; cancelRequested: boolean };

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
  api = fakeApi();
  signIn(api, "operator");
  updateSettings({ pollMs: 30_000 }); // the runs list then polls every 2 s
  run = { status: "queued", warmed: 0, cancelRequested: false };
  api.on("GET", "/api/warming/jobs", ok({ jobs: [job] }));
  api.on("GET", "/api/warming/runs", (request) =>
    ok({ runs: request.query.get("limit") === "200" ? [summary(3, "succeeded", 30), summary(2, "failed", 5)] : [summary(5, run.status, run.warmed)] }),
  );
  api.on("POST", "/api/warming/trigger", ok({ runId: 5 }));
  api.on("GET", "/api/warming/runs/5", () => {
    if (run.status === "queued") run.status = "running";
    else if (run.status === "running" && !run.cancelRequested) {
      run.warmed += 10;
      if (run.warmed === 30) run.status = "succeeded";
    }
    return ok(detail(5, run.status, run.warmed, { cancelRequested: run.cancelRequested }));
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const listCalls = () => api.calls("/api/warming/runs").filter((r) => r.query.get("limit") !== "200");

describe("Warming Jobs", () => {
  test("jobs show next run, last status and success rate from their runs", async () => {
    renderAt(<WarmingPage />, "/warming");
    await advance(0);
    const row = within(screen.getByRole("table", { name: "Warming jobs" })).getAllByRole("row")[1];
    const cells = within(row)
      .getAllByRole("cell")
      .map((c) => c.textContent);
    expect(cells[1]).toBe("0 4 * * * (UTC)");
    expect(cells[3]).toBe("succeeded"); // the newest run
    expect(cells[4]).toBe("50% of 2");
  });

  test("Run now opens the run (tab, job and run in the URL) and follows its progress to the end", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const view = renderAt(<WarmingPage />, "/warming");
    await advance(0);
    await user.click(screen.getByRole("button", { name: "Run catalog now" }));
    await advance(0);
    expect(api.calls("/api/warming/trigger", "POST")[0].body).toEqual({ jobId: 1 });
    expect(view.search().toString()).toBe("tab=runs&job=1&run=5");
    expect(listCalls().at(-1)!.query.get("jobId")).toBe("1"); // the list is filtered to the job

    const panel = screen.getByTestId("run-detail");
    expect(within(panel).getByRole("heading").textContent).toBe("Run #5 running");
    await advance(500);
    expect(within(panel).getByTestId("run-warmed").textContent).toBe("10");
    expect(within(panel).getByRole("progressbar").getAttribute("aria-valuenow")).toBe("33");
    await advance(500);
    expect(within(panel).getByTestId("run-warmed").textContent).toBe("20");

    // The list lags (it polls every 2 s) until the panel sees the run finish.
    const listed = () => within(screen.getByRole("table", { name: "Warming runs" })).getAllByRole("row")[1].textContent;
    expect(listed()).toContain("running");
    await advance(500);
    expect(within(panel).getByRole("heading").textContent).toBe("Run #5 succeeded");
    await advance(0);
    expect(listed()).toContain("succeeded");
    expect(listed()).toContain("30 / 0 / 0 of 30");

    // Final: the panel stops polling.
    const detailCalls = api.calls("/api/warming/runs/5").length;
    await advance(5_000);
    expect(api.calls("/api/warming/runs/5")).toHaveLength(detailCalls);
    expect(within(panel).queryByRole("button", { name: "Cancel run" })).toBeNull();
  });

  test("a running run can be cancelled", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    api.on("POST", "/api/warming/runs/5/cancel", () => {
      run.cancelRequested = true;
      return ok({ id: 5, status: "running", cancelRequested: true });
    });
    renderAt(<WarmingPage />, "/warming?tab=runs&run=5");
    await advance(500);
    await user.click(screen.getByRole("button", { name: "Cancel run" }));
    await advance(0);
    expect(api.calls("/api/warming/runs/5/cancel", "POST")).toHaveLength(1);
    expect((screen.getByRole("button", { name: "Cancelling…" }) as HTMLButtonElement).disabled).toBe(true);
  });

  test("the URL restores tab, job filter and open run; Esc closes the run", async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const view = renderAt(<WarmingPage />, "/warming?tab=runs&job=1&run=5");
    await advance(0);
    expect(screen.getByRole("tab", { name: "Runs" }).getAttribute("aria-selected")).toBe("true");
    expect(listCalls()[0].query.get("jobId")).toBe("1");
    expect(screen.getByTestId("run-detail")).toBeTruthy();
    await user.keyboard("{Escape}");
    expect(view.search().toString()).toBe("tab=runs&job=1");
    expect(screen.queryByTestId("run-detail")).toBeNull();
  });
});
