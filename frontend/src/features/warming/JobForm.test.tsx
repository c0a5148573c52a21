// @vitest-environment jsdom
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { advance, apiError, fakeApi, ok, type FakeApi } from "../../../testing/components";
import { ApiError } from "../../api/client";
import type { SchedulePreview, WarmingJob } from "../../api/warming";
import { JobForm } from "./JobForm";

const PREVIEW = "/api/warming/schedule-preview";
const WAIT = { timeout: 5_000 };

function nextRuns(cron: string, timeZone: string, first: string): SchedulePreview {
  const start = new Date(first).getTime();
  return { cron, timeZone, next: Array.from({ length: 5 }, (_, i) => new Date(start + i * 86_400_000).toISOString()) };
}

let api: FakeApi;

beforeEach(() => {
  api = fakeApi();
  // The warming service's parser: five fields, minutes 0–59.
  api.on("GET", PREVIEW, (request) => {
    const cron = request.query.get("cron") ?? "";
    const tz = request.query.get("tz") ?? "UTC";
    const fields = cron.split(/\s+/);
    if (fields.length !== 5) return apiError(400, "invalid_argument", `schedule: expected 5 fields, got ${fields.length}`);
    if (Number(fields[0]) > 59) return apiError(400, "invalid_argument", `schedule: minute ${fields[0]} is out of range 0-59`);
    if (tz === "Mars/Olympus") return apiError(400, "invalid_argument", "timeZone: unknown time zone Mars/Olympus");
    return ok(nextRuns(cron, tz, "2025-06-02T04:00:00Z"));
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

function renderForm(job?: WarmingJob) {
  const onSave = vi.fn(async () => undefined);
  const onCancel = vi.fn();
  render(<JobForm job={job} onSave={onSave} onCancel={onCancel} />);
  const form = screen.getByRole("form");
  return {
    onSave,
    onCancel,
    form,
    schedule: within(form).getByLabelText(/Schedule/) as HTMLInputElement,
    timeZone: within(form).getByLabelText(/Time zone/) as HTMLInputElement,
  };
}

const createButton = () => screen.getByRole("button", { name: /Create job|Save changes|Saving…/ }) as HTMLButtonElement;

describe("JobForm: cron validated as you type", () => {
  test("the next 5 runs for the schedule, in its time zone, checked once typing pauses", async () => {
    vi.useFakeTimers();
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const { schedule, timeZone } = renderForm();
    await user.clear(timeZone);
    await user.type(timeZone, "UTC");
    await user.clear(schedule);
    await user.type(schedule, "0 4 * * *");
    expect(screen.getByTestId("cron-preview").textContent).toBe("Checking…");
    expect(api.calls(PREVIEW)).toHaveLength(0);

    await advance(300);
    expect(api.calls(PREVIEW).map((r) => [r.query.get("cron"), r.query.get("tz")])).toEqual([["0 4 * * *", "UTC"]]);
    const runs = within(screen.getByTestId("cron-next")).getAllByRole("listitem");
    expect(runs).toHaveLength(5);
    expect(runs[0].textContent).toMatch(/Jun 2, 2025.*4:00/);
    expect(screen.getByTestId("cron-preview").textContent).toContain("Next runs (UTC):");
    expect(createButton().disabled).toBe(false);
  });

  test("an invalid schedule shows the parser's error, marks the field and blocks saving", async () => {
    const user = userEvent.setup();
    const { schedule } = renderForm();
    await user.clear(schedule);
    await user.type(schedule, "61 * * * *");
    const error = await screen.findByTestId("cron-error", {}, WAIT);
    expect(error.textContent).toBe("schedule: minute 61 is out of range 0-59");
    expect(schedule.getAttribute("aria-invalid")).toBe("true");
    expect(screen.queryByTestId("cron-next")).toBeNull();
    expect(createButton().disabled).toBe(true);

    await user.clear(schedule);
    await user.type(schedule, "*/5 * * * *");
    await within(screen.getByTestId("cron-preview")).findByTestId("cron-next", {}, WAIT);
    expect(schedule.getAttribute("aria-invalid")).toBe("false");
    expect(createButton().disabled).toBe(false);
  });

  test("an unknown time zone is an error too", async () => {
    const user = userEvent.setup();
    const { timeZone } = renderForm();
    await user.clear(timeZone);
    await user.type(timeZone, "Mars/Olympus");
    expect((await screen.findByTestId("cron-error", {}, WAIT)).textContent).toBe("timeZone: unknown time zone Mars/Olympus");
  });

  test("an empty schedule means trigger-only: nothing to check, saving allowed", async () => {
    const user = userEvent.setup();
    const { schedule } = renderForm();
    await screen.findByTestId("cron-next", {}, WAIT); // the default schedule's runs
    const before = api.calls(PREVIEW).length;
    await user.clear(schedule);
    expect(screen.getByTestId("cron-preview").textContent).toBe("");
    expect(createButton().disabled).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(api.calls(PREVIEW)).toHaveLength(before);
  });
});

describe("JobForm: saving", () => {
  test("sends the fields as the warming API's job input", async () => {
    const user = userEvent.setup();
    const { form, onSave, schedule, timeZone } = renderForm();
    await user.type(within(form).getByLabelText("Name"), "  nightly products ");
    await user.clear(schedule);
    await user.type(schedule, "0 4 * * *");
    await user.clear(timeZone);
    await user.type(timeZone, "Europe/Berlin");
    await user.type(within(form).getByLabelText(/Keys \(one per line\)/), "product:1\nproduct:2, product:3");
    await user.type(within(form).getByLabelText(/TTL seconds/), "600");
    await screen.findByTestId("cron-next", {}, WAIT);
    await user.click(createButton());
    expect(onSave).toHaveBeenCalledWith({
      name: "nightly products",
      enabled: true,
      schedule: "0 4 * * *",
      timeZone: "Europe/Berlin",
      source: { type: "keys", keys: ["product:1", "product:2", "product:3"] },
      namespace: undefined,
      priority: 5,
      batchSize: 100,
      concurrency: 4,
      ttlSeconds: 600,
    });
  });

  test("the source's own fields follow the source type", async () => {
    const user = userEvent.setup();
    const { form, onSave } = renderForm();
    await user.type(within(form).getByLabelText("Name"), "hot");
    await user.selectOptions(within(form).getByLabelText("Source"), "hot");
    expect(within(form).queryByLabelText(/Keys \(one per line\)/)).toBeNull();
    await user.type(within(form).getByLabelText("Hot keys to consider"), "50");
    await screen.findByTestId("cron-next", {}, WAIT);
    await user.click(createButton());
    expect(onSave.mock.calls[0]).toMatchObject([{ source: { type: "hot", topN: 50 } }]);
  });

  test("the l3 source asks for a key pattern, and sends neither a TTL nor a concurrency of its own", async () => {
    const user = userEvent.setup();
    const { form, onSave } = renderForm();
    await user.type(within(form).getByLabelText("Name"), "recover");
    await user.type(within(form).getByLabelText(/TTL seconds/), "600");
    await user.selectOptions(within(form).getByLabelText("Source"), "l3");
    expect(within(form).queryByLabelText(/TTL seconds/)).toBeNull();
    expect(within(form).queryByLabelText("Concurrency")).toBeNull();
    await user.type(within(form).getByLabelText(/Namespace/), "product:");
    const pattern = within(form).getByLabelText(/Key pattern to restore from L3/) as HTMLInputElement;
    expect(pattern.placeholder).toBe("product:*");
    expect(pattern.required).toBe(true);
    await user.type(pattern, " product:[[0-9]* "); // "[[" types one "["
    await user.clear(within(form).getByLabelText(/Batch size \(entries per L3 page\)/));
    await user.type(within(form).getByLabelText(/Batch size \(entries per L3 page\)/), "500");
    await screen.findByTestId("cron-next", {}, WAIT);
    await user.click(createButton());
    expect(onSave.mock.calls[0]).toMatchObject([{ source: { type: "l3", pattern: "product:[0-9]*" }, namespace: "product:", batchSize: 500 }]);
    expect((onSave.mock.calls[0] as unknown[])[0]).toHaveProperty("ttlSeconds", undefined);
  });

  test("editing an l3 job starts from its pattern; the service's refusal is shown", async () => {
    const user = userEvent.setup();
    const job: WarmingJob = {
      id: 9,
      name: "recover",
      enabled: true,
      timeZone: "UTC",
      source: { type: "l3", pattern: "user:*" },
      namespace: "user:",
      priority: 5,
      batchSize: 100,
      concurrency: 4,
      createdAt: "2025-06-01T00:00:00Z",
      updatedAt: "2025-06-01T00:00:00Z",
    };
    const { form, onSave } = renderForm(job);
    expect((within(form).getByLabelText(/Key pattern to restore from L3/) as HTMLInputElement).value).toBe("user:*");
    expect((within(form).getByLabelText("Source") as HTMLSelectElement).value).toBe("l3");
    onSave.mockRejectedValueOnce(new ApiError(400, "invalid_argument", '"source.pattern" "*" reaches outside the namespace "user:"'));
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect((await screen.findByRole("alert", {}, WAIT)).textContent).toContain('reaches outside the namespace "user:"');
  });

  test("editing starts from the job, and a refused save shows the service's error", async () => {
    const user = userEvent.setup();
    const job: WarmingJob = {
      id: 7,
      name: "catalog",
      enabled: false,
      schedule: "30 2 * * 1",
      timeZone: "UTC",
      source: { type: "origin", limit: 500 },
      priority: 8,
      batchSize: 200,
      concurrency: 2,
      createdAt: "2025-06-01T00:00:00Z",
      updatedAt: "2025-06-01T00:00:00Z",
    };
    const { form, onSave, schedule } = renderForm(job);
    expect(form.getAttribute("aria-label")).toBe("Edit job catalog");
    expect(schedule.value).toBe("30 2 * * 1");
    expect((within(form).getByLabelText("Most keys to list") as HTMLInputElement).value).toBe("500");
    expect((within(form).getByLabelText("Enabled") as HTMLInputElement).checked).toBe(false);
    onSave.mockRejectedValueOnce(new ApiError(409, "already_exists", "a job named catalog exists"));
    await screen.findByTestId("cron-next", {}, WAIT);
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    expect((await screen.findByRole("alert", {}, WAIT)).textContent).toContain("Save: a job named catalog exists");
    expect(screen.getByRole("button", { name: "Save changes" })).toBeTruthy(); // ready to try again
  });

  test("Cancel cancels", async () => {
    const user = userEvent.setup();
    const { onCancel } = renderForm();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onCancel).toHaveBeenCalledTimes(1);
  });
});
