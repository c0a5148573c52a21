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
import { horizontalOverflow, seriousViolations } from "./a11y";
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

async function shot(name: string, on: Page = page): Promise<void> {
  const png = await on.screenshot({ fullPage: true, animations: "disabled" }); // transitions shown finished
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

/** Puts `theme` in the dashboard's stored settings; it applies on the next page load. */
async function setTheme(on: Page, theme: "light" | "dark"): Promise<void> {
  await on.evaluate((value) => {
    const stored = JSON.parse(localStorage.getItem("cachet.settings") ?? "{}") as Record<string, unknown>;
    localStorage.setItem("cachet.settings", JSON.stringify({ ...stored, theme: value }));
  }, theme);
}

const PHONE = { width: 390, height: 844 };
const TABLET = { width: 768, height: 1024 };
const DESKTOP = { width: 1280, height: 800 };

describe("sign-in", () => {
  test("a first visit asks for the token, says whose it is and its role; nothing but whoami is requested before that", async () => {
    const fresh = await launchDashboard(host.url, { theme: "light" });
    try {
      const p = fresh.page;
      await p.setViewportSize(PHONE);
      const requested: string[] = [];
      p.on("request", (request) => {
        const path = new URL(request.url()).pathname;
        if (path.startsWith("/api/") || path === "/metrics") requested.push(path);
      });
      await p.goto("/explorer?match=product:*");
      await p.getByTestId("sign-in").waitFor();
      expect(await seriousViolations(p)).toEqual([]);
      expect((await horizontalOverflow(p)).excess).toBe(0);

      await p.getByLabel("API token").fill("not-a-token");
      await p.getByRole("button", { name: "Check token" }).click();
      await p.getByRole("alert").getByText("Token rejected: unknown or revoked token").waitFor();
      await p.getByLabel("API token").fill(TEST_TOKENS.operator);
      await p.getByRole("button", { name: "Check token" }).click();
      expect(await p.getByTestId("sign-in-who").textContent()).toBe("This token belongs to ops, role operator");
      await shot("phone-sign-in", p);
      expect(requested).toEqual(["/api/auth/whoami", "/api/auth/whoami"]);

      await p.getByRole("button", { name: "Continue as ops" }).click();
      await p.getByRole("heading", { name: "Cache Explorer" }).waitFor();
      expect(new URL(p.url()).searchParams.get("match")).toBe("product:*"); // the deep link survived
      await expect.poll(() => requested.filter((path) => path === "/api/keys").length).toBeGreaterThan(0);
      await p.getByTestId("token-status").getByText("operator").waitFor();

      // Revoked mid-session: from here on the platform is sent a token it does not know, and refuses it.
      await fresh.context.route("**/api/**", (route) => route.continue({ headers: { ...route.request().headers(), authorization: "Bearer revoked-token" } }));
      await p.getByRole("button", { name: "Refresh" }).click();
      const reason = p.getByTestId("sign-in-reason");
      await reason.waitFor();
      expect(await reason.textContent()).toContain("unknown or revoked token");
      expect(await p.getByRole("heading", { name: "Cache Explorer" }).count()).toBe(0);
      expect(await seriousViolations(p)).toEqual([]);
    } finally {
      await fresh.close();
    }
  }, 60_000);
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
      await page
        .getByRole("button", { name: /Scan more|Scanning/ })
        .or(count.getByText("scan complete"))
        .first()
        .waitFor();
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
    expect(
      await eventually(
        () => found(keys),
        (n) => n === 0,
      ),
    ).toBe(0);
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
    expect(
      await eventually(
        () => found(keys),
        (n) => n === 0,
      ),
    ).toBe(0);

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

  test("settings: an admin gives a namespace its own cache policy; the service applies it and audits who did", async () => {
    await page.goto("/settings");
    const policy = page.getByTestId("cache-policy");
    await policy.getByLabel("Namespace", { exact: true }).fill(prefix);
    await policy.getByLabel("Default TTL (s)").fill("90");
    await policy.getByRole("combobox", { name: "L3", exact: true }).selectOption("on");
    await policy.getByRole("button", { name: "Save namespace" }).click();
    await policy.getByRole("table", { name: "Namespace policies" }).getByText(prefix).waitFor();
    const applied = await callApi(host.url, "GET", "/api/cache-policy");
    expect(applied.body.namespaces).toContainEqual({ namespace: prefix, defaultTtlMs: 90_000, l3: true });
    await policy.getByRole("list", { name: "Recent cache policy changes" }).getByText(`namespace ${prefix}`).first().waitFor();
    await shot("settings-cache-policy");
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
    await page
      .getByTestId("updated-ago")
      .getByText(/updated/)
      .waitFor();
    await page.getByRole("tab", { name: "5m" }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("window")).toBeNull(); // 5m is the default
    await page.getByRole("tab", { name: "1m" }).click();
    await page.reload();
    expect(await page.getByRole("tab", { name: "1m" }).getAttribute("aria-selected")).toBe("true");
    // The screenshot shows the charts drawn, not the page before its first history fetch.
    await page.getByTestId("chart-ops").locator("path.recharts-area-area").first().waitFor();
    await shot("overview");
  }, 60_000);

  test("every page: no serious or critical axe violation in light and dark at 390 and 1280 px; none wider than the viewport at 390 and 768 px", async () => {
    const previewKey = `${prefix}preview:1`;
    const views: Array<{ name: string; path: string; ready: () => Promise<unknown> }> = [
      { name: "overview", path: "/overview?window=1m", ready: () => page.getByTestId("stat-hit-ratio").waitFor() },
      {
        name: "explorer",
        path: `/explorer?match=${encodeURIComponent(`${prefix}preview:*`)}&key=${encodeURIComponent(previewKey)}`,
        ready: () => page.getByTestId("key-detail").getByTestId("key-value").waitFor(),
      },
      {
        name: "invalidation",
        path: `/invalidation?target=${encodeURIComponent(`${prefix}*`)}`,
        ready: () => page.getByTestId("preview").locator("[data-testid=preview-count], [data-testid=not-deployed]").first().waitFor(),
      },
      {
        name: "audit",
        path: "/invalidation?tab=audit",
        ready: () =>
          page
            .getByTestId("audit-verify")
            .getByText(/intact|broken|not available/)
            .first()
            .waitFor(),
      },
      {
        name: "warming",
        path: "/warming",
        ready: () =>
          page.getByRole("table", { name: "Warming jobs" }).or(page.getByTestId("not-deployed")).or(page.getByText("No warming jobs yet.")).first().waitFor(),
      },
      {
        name: "warming-runs",
        path: "/warming?tab=runs",
        ready: () =>
          page.getByRole("table", { name: "Warming runs" }).or(page.getByTestId("not-deployed")).or(page.getByText("No runs yet.")).first().waitFor(),
      },
      { name: "lab", path: "/lab?scenario=stampede", ready: () => page.getByRole("button", { name: "Run scenario" }).waitFor() },
      // The admin's view: the cache policy section with its L1 form, namespace table and audit.
      { name: "settings", path: "/settings", ready: () => page.getByTestId("l1-applied").waitFor() },
    ];
    const problems: string[] = [];
    const check = async (where: string, viewport: { width: number }, axe: boolean) => {
      if (axe) for (const v of await seriousViolations(page)) problems.push(`${where}: ${v.impact} ${v.rule} (${v.help}) at ${v.targets.join(", ")}`);
      const overflow = await horizontalOverflow(page);
      if (viewport.width < DESKTOP.width && overflow.excess > 0)
        problems.push(`${where}: ${overflow.excess}px wider than the viewport: ${overflow.culprits.join("; ")}`);
    };
    try {
      for (const theme of ["light", "dark"] as const) {
        await setTheme(page, theme);
        for (const viewport of [PHONE, TABLET, DESKTOP]) {
          await page.setViewportSize(viewport);
          const axe = viewport !== TABLET; // 768 px: the layout check only
          for (const view of views) {
            await page.goto(view.path);
            await view.ready();
            await check(`${view.name} ${theme} ${viewport.width}px`, viewport, axe);
            if (theme === "light" && viewport === PHONE && ["overview", "explorer", "invalidation", "warming"].includes(view.name))
              await shot(`phone-${view.name}`);
          }
          if (viewport !== PHONE) continue;
          // What opens over a page on a phone: the navigation drawer, the command palette, a confirmation.
          await page.goto("/invalidation?mode=keys");
          await page.getByRole("button", { name: "Open the menu" }).click();
          await page.getByRole("dialog", { name: "Navigation" }).getByRole("link", { name: "Overview" }).waitFor();
          await check(`navigation drawer ${theme}`, viewport, true);
          if (theme === "light") await shot("phone-menu");
          await page.keyboard.press("Escape");
          await page.getByRole("button", { name: "Open the menu" }).click();
          await page
            .getByRole("dialog", { name: "Navigation" })
            .getByRole("button", { name: /Commands/ })
            .click();
          await page.getByRole("dialog", { name: "Command palette" }).waitFor();
          await check(`command palette ${theme}`, viewport, true);
          await page.keyboard.press("Escape");
          await page.getByRole("textbox", { name: "Keys" }).fill(`${previewKey}\n${prefix}preview:2`);
          await page.getByRole("button", { name: "Invalidate…" }).click();
          await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).waitFor();
          await check(`confirmation dialog ${theme}`, viewport, true);
          await page.keyboard.press("Escape");
        }
      }
    } finally {
      await setTheme(page, "light");
      await page.setViewportSize(DESKTOP);
    }
    expect(problems).toEqual([]);
  }, 300_000);

  test("keyboard: Tab reaches every control of a page in order, each with a visible focus ring", async () => {
    await page.goto("/warming");
    await page.getByRole("heading", { name: "Warming Jobs" }).waitFor();
    // Tab until the focus leaves the page (back to the browser) or comes round again.
    const seen: string[] = [];
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
        return { name: `${el.tagName.toLowerCase()} "${(el.getAttribute("aria-label") ?? el.textContent ?? "").trim().slice(0, 40)}"`, ring };
      });
      if (!focused || focused.name === seen[0]) break;
      expect(focused.ring, `${focused.name} shows no focus ring`).toBe(true);
      seen.push(focused.name);
    }
    expect(seen[0]).toContain("Skip to content");
    expect(seen.some((name) => name.includes("Cache Explorer"))).toBe(true); // the navigation
    expect(seen.some((name) => name.includes("Runs"))).toBe(true); // the page's tabs
    expect(seen.some((name) => name.includes("New job"))).toBe(true);
    if (await deployed("/api/warming/jobs")) expect(seen.some((name) => name.includes(`Run ${prefix}job now`))).toBe(true); // the table's actions
  });
});

describe("content security policy", () => {
  test("no page of the whole run violated the dashboard's Content-Security-Policy", () => {
    expect(cspViolations).toEqual([]);
  });
});
