/**
 * The dashboard end to end: a real host process serving the built dashboard and the API on one
 * origin, driven through Debian's chromium. Data is seeded over the API under a random key
 * prefix; the specs run in order (destructive ones included) in one file.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { callApi, eventually } from "../../infra/node-host/testing/api";
import { startHostProcess, type HostProcess } from "../../infra/node-host/testing/hosts";
import { TEST_TOKENS } from "../../infra/node-host/testing/tokens";
import { buildIfNeeded } from "../scripts/dashboard.mjs";
import { launchDashboard, type BrowserSession } from "./browser";

const here = dirname(fileURLToPath(import.meta.url));
// Every run keeps its screenshots next to the test (git-ignored); CACHET_UPDATE_SCREENSHOTS=1 also
// refreshes the committed copies the README shows.
const screenshotDirs = [join(here, "screenshots"), ...(process.env.CACHET_UPDATE_SCREENSHOTS ? [join(here, "../../docs/screenshots")] : [])];
const prefix = `e2e${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;

let host: HostProcess;
let session: BrowserSession;
let page: Page;

async function deployed(path: string): Promise<boolean> {
  const response = await fetch(host.url + path, { headers: { authorization: `Bearer ${TEST_TOKENS.admin}` } });
  return (response.headers.get("content-type") ?? "").includes("application/json") && response.status !== 404;
}

async function seed(keys: string[], tags: string[] = []) {
  for (let i = 0; i < keys.length; i += 500) {
    const entries = keys.slice(i, i + 500).map((key) => ({ key, value: { key, n: i, nested: { list: [1, 2, 3] } }, ttlSeconds: 600, tags }));
    const response = await callApi(host.url, "POST", "/api/batch/set", { body: { entries } });
    expect(response.status).toBe(200);
  }
}

async function found(keys: string[]): Promise<number> {
  const response = await callApi(host.url, "POST", "/api/batch/get", { body: { keys } });
  // A key nothing has is found: false; an unknown namespace has no origin, so no reload.
  return response.body.entries.filter((e: { found: boolean }) => e.found).length;
}

async function shot(name: string): Promise<void> {
  const png = await page.screenshot({ fullPage: true, animations: "disabled" }); // transitions shown finished
  for (const dir of screenshotDirs) writeFileSync(join(dir, `${name}.png`), png);
}

beforeAll(async () => {
  buildIfNeeded();
  for (const dir of screenshotDirs) mkdirSync(dir, { recursive: true });
  // Four services with their PGlite migrations: on a loaded 2-core machine a start can miss the
  // helper's 30 s deadline; one retry keeps the suite from failing on load alone.
  host = await startHostProcess({ env: { CACHE_DEMO_LATENCY_MS: "5" } }).catch(() => startHostProcess({ env: { CACHE_DEMO_LATENCY_MS: "5" } }));
  session = await launchDashboard(host.url, { token: TEST_TOKENS.admin, pollMs: 1000, theme: "light" });
  page = session.page;
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
}, 180_000);

/** Every Content-Security-Policy violation Chromium reported during the run. */
const cspViolations: string[] = [];

afterAll(async () => {
  await session?.close();
});

describe("dashboard in a browser", () => {
  test("the dashboard is served at the API's origin, deep links included", async () => {
    const root = await fetch(`${host.url}/explorer?match=x`);
    expect(root.status).toBe(200);
    expect(await root.text()).toMatch(/<div id="root">/);
    expect(root.headers.get("content-security-policy")).toMatch(/script-src 'self';.*frame-ancestors 'none'/);
    expect([root.headers.get("x-content-type-options"), root.headers.get("x-frame-options")]).toEqual(["nosniff", "DENY"]);
    // An API typo gets Encore's JSON 404, not the dashboard's HTML.
    const typo = await fetch(`${host.url}/api/cahce/x`);
    expect([typo.status, typo.headers.get("content-type")]).toEqual([404, "application/json; charset=utf-8"]);
    expect((await typo.json()).code).toBe("not_found");
    await page.goto("/");
    await expect.poll(() => new URL(page.url()).pathname).toBe("/overview");
    await page.getByTestId("token-status").getByText("admin").waitFor();
  });

  test("explorer: search, scan more, open a key, state restored on reload, Esc clears it", async () => {
    const keys = Array.from({ length: 130 }, (_, i) => `${prefix}user:${String(i).padStart(3, "0")}`);
    await seed(keys, [`${prefix}tag`]);
    await page.goto("/explorer");
    await page.getByLabel("Key pattern").fill(`${prefix}user:*`);
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("match")).toBe(`${prefix}user:*`);
    const count = page.getByTestId("explorer-count");
    const shown = async () => Number(/([\d,]+) keys shown/.exec((await count.textContent()) ?? "")?.[1].replace(/,/g, "") ?? 0);
    // One page is at least 50 keys (the explorer keeps scanning until it has them, or the scan ends).
    await expect.poll(shown).toBeGreaterThanOrEqual(50);
    while (!((await count.textContent()) ?? "").includes("scan complete")) {
      await page.getByRole("button", { name: "Scan more" }).click();
      await page.getByRole("button", { name: /Scan more|Scanning/ }).or(count.getByText("scan complete")).first().waitFor();
      await page.waitForTimeout(200);
    }
    expect(await shown()).toBe(130);
    // Virtualized: far fewer rows in the DOM than keys loaded.
    expect(await page.locator("[role=row][data-key]").count()).toBeLessThan(80);

    // SCAN order is arbitrary and the list virtualized: open a row that is on screen.
    const target = (await page.locator("[role=row][data-key]").nth(3).getAttribute("data-key"))!;
    expect(keys).toContain(target);
    await page.getByRole("button", { name: `Open ${target}` }).click();
    const detail = page.getByTestId("key-detail");
    await detail.getByTestId("key-value").getByText('"nested"').waitFor();
    expect(await detail.textContent()).toContain(`${prefix}tag`);
    expect(new URL(page.url()).searchParams.get("key")).toBe(target);
    await shot("explorer");

    await page.reload();
    await page.getByTestId("key-detail").getByRole("heading", { name: target }).waitFor();
    expect(await page.getByLabel("Key pattern").inputValue()).toBe(`${prefix}user:*`);
    await page.keyboard.press("Escape");
    await expect.poll(() => new URL(page.url()).searchParams.get("key")).toBeNull();
    await expect.poll(() => page.getByTestId("key-detail").count()).toBe(0);
  });

  test("explorer: selected rows are bulk-invalidated after typed confirmation, and are gone", async () => {
    const keys = Array.from({ length: 130 }, (_, i) => `${prefix}user:${String(i).padStart(3, "0")}`);
    expect(await found(keys)).toBe(130);
    await page.getByTestId("explorer-count").getByText("130 keys shown").waitFor();
    await page.getByLabel("Select all loaded keys").check();
    await page.getByText("130 selected").waitFor();
    await page.getByRole("button", { name: "Invalidate selected" }).click();
    const dialog = page.getByRole("dialog");
    const action = dialog.getByRole("button", { name: "Invalidate" });
    expect(await action.isDisabled()).toBe(true);
    await dialog.getByLabel("Confirmation").fill("12");
    expect(await action.isDisabled()).toBe(true);
    await dialog.getByLabel("Confirmation").fill("130");
    await action.click();
    await page.getByTestId("invalidation-result").getByText(/130/).waitFor();
    expect(await eventually(() => found(keys), (n) => n === 0)).toBe(0);
    await page.getByText(/No keys match/).waitFor();
  });

  test("invalidation console: keys typed in, type-to-confirm, then gone; the audit tab renders", async () => {
    const keys = Array.from({ length: 120 }, (_, i) => `${prefix}console:${i}`);
    await seed(keys);
    await page.goto("/invalidation?mode=keys");
    await page.getByRole("textbox", { name: "Keys" }).fill(keys.join("\n"));
    await page.getByTestId("preview").getByText("120 keys").waitFor();
    await page.getByRole("button", { name: "Invalidate…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText("Type 120 to confirm").waitFor();
    await dialog.getByLabel("Confirmation").fill("120");
    await dialog.getByRole("button", { name: "Invalidate" }).click();
    await page.getByTestId("console-result").getByText(/120/).waitFor();
    expect(await eventually(() => found(keys), (n) => n === 0)).toBe(0);

    // Keys for the pattern preview (and its screenshot) to count and sample.
    await seed(Array.from({ length: 25 }, (_, i) => `${prefix}preview:${i}`));
    await page.getByRole("radio", { name: "Pattern" }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("mode")).toBeNull(); // pattern is the default
    await page.getByRole("textbox", { name: "Pattern" }).fill(`${prefix}*`);
    await expect.poll(() => new URL(page.url()).searchParams.get("target")).toBe(`${prefix}*`);
    if (await deployed(`/api/invalidate/preview?pattern=${encodeURIComponent(prefix + "*")}`)) {
      await page.getByTestId("preview-count").getByText("25", { exact: true }).waitFor();
    } else {
      await page.getByTestId("preview").getByTestId("not-deployed").waitFor();
    }
    await shot("invalidation");
    await page.getByRole("tab", { name: "Audit trail" }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("tab")).toBe("audit");
    await page.getByTestId("audit-verify").waitFor();
    await shot("audit");
  });

  test("settings: the dark theme applies and survives a reload", async () => {
    await page.goto("/settings");
    expect(await page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(false);
    await page.getByRole("radio", { name: "Dark" }).check();
    expect(await page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(true);
    await page.reload();
    await page.getByRole("radio", { name: "Dark" }).waitFor();
    expect(await page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(true);
    expect(await page.getByRole("radio", { name: "Dark" }).isChecked()).toBe(true);
    await shot("settings-dark");
    await page.getByRole("radio", { name: "Light" }).check();
    expect(await page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(false);
  });

  test("command palette: Ctrl+K, type, Enter navigates; Esc closes it", async () => {
    await page.goto("/overview");
    await page.getByTestId("token-status").waitFor();
    await page.keyboard.press("Control+k");
    const palette = page.getByRole("dialog", { name: "Command palette" });
    await palette.getByRole("combobox", { name: "Command" }).fill("warming");
    await page.keyboard.press("Enter");
    await expect.poll(() => new URL(page.url()).pathname).toBe("/warming");
    await page.keyboard.press("Control+k");
    await page.getByRole("dialog", { name: "Command palette" }).waitFor();
    await page.keyboard.press("Escape");
    expect(await page.getByRole("dialog", { name: "Command palette" }).count()).toBe(0);
  });

  test("lab: each scenario runs and shows its numbers and charts", async () => {
    for (const [scenario, expected] of [
      ["cache-aside", /A miss took/],
      ["write-modes", /Write-through answered/],
      ["stampede", /origin calls without protection, 1 with/],
      ["l2-outage", /breaker opened/],
      ["coherence", /plain local caches/],
    ] as const) {
      await page.goto(`/lab?scenario=${scenario}`);
      await page.getByRole("button", { name: "Run scenario" }).click();
      await page.getByTestId("lab-summary").getByText(expected).waitFor({ timeout: 30_000 });
      expect(await page.locator("[data-testid=lab-result] svg.recharts-surface").count()).toBeGreaterThan(0);
      if (scenario === "stampede") await shot("lab");
    }
  }, 120_000);

  test("warming: cron validated as you type, job created, run now, progress to the end", async () => {
    await page.goto("/warming");
    if (!(await deployed("/api/warming/jobs"))) {
      await page.getByTestId("not-deployed").first().waitFor();
      return;
    }
    const keys = Array.from({ length: 30 }, (_, i) => `product:${i + 1}`);
    await page.getByRole("button", { name: "New job" }).click();
    const form = page.getByRole("form", { name: "New warming job" });
    await form.getByLabel("Name", { exact: true }).fill(`${prefix}job`);
    await form.getByLabel(/Schedule/).fill("61 * * * *");
    await form.getByTestId("cron-error").waitFor();
    expect(await form.getByRole("button", { name: "Create job" }).isDisabled()).toBe(true);
    await form.getByLabel(/Schedule/).fill("0 4 * * *");
    await form.getByLabel(/Time zone/).fill("UTC");
    await expect.poll(() => form.locator("[data-testid=cron-next] li").count()).toBe(5);
    await form.getByLabel(/Keys \(one per line\)/).fill(keys.join("\n"));
    await form.getByRole("button", { name: "Create job" }).click();
    const row = page.locator(`tr[data-job="${prefix}job"]`);
    await row.waitFor();
    await shot("warming");
    await row.getByRole("button", { name: `Run ${prefix}job now` }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("tab")).toBe("runs");
    const detail = page.getByTestId("run-detail");
    await detail.getByText("succeeded").waitFor({ timeout: 30_000 });
    expect(Number(await detail.getByTestId("run-warmed").textContent())).toBe(30);
    await page.getByRole("table", { name: "Warming runs" }).getByText("succeeded").waitFor(); // the list agrees
    await shot("warming-run");
  }, 60_000);

  test("overview: charts show data for the chosen window, which lives in the URL", async () => {
    for (let i = 0; i < 40; i++) await callApi(host.url, "GET", `/api/cache/product:${1 + (i % 10)}`);
    await page.goto("/overview?window=1m");
    if (!(await deployed("/api/metrics/history?window=1m"))) {
      await page.getByTestId("not-deployed").first().waitFor();
      await shot("overview");
      return;
    }
    const charts = page.getByTestId("overview-charts");
    await expect.poll(async () => Number(await charts.getAttribute("data-points")), { timeout: 30_000 }).toBeGreaterThan(1);
    await page.getByTestId("chart-ops").locator("path.recharts-area-area").first().waitFor();
    await page.getByTestId("updated-ago").getByText(/updated/).waitFor();
    await page.getByRole("tab", { name: "5m" }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("window")).toBeNull(); // 5m is the default
    await page.getByRole("tab", { name: "1m" }).click();
    await page.reload();
    expect(await page.getByRole("tab", { name: "1m" }).getAttribute("aria-selected")).toBe("true");
    // The screenshot shows the charts drawn, not the page before its first history fetch.
    await page.getByTestId("chart-ops").locator("path.recharts-area-area").first().waitFor();
    await shot("overview");
  }, 60_000);
});

describe("content security policy", () => {
  test("no page of the whole run violated the dashboard's Content-Security-Policy", () => {
    expect(cspViolations).toEqual([]);
  });
});
