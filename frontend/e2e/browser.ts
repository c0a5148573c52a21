/**
 * The browser for end-to-end tests: Debian's chromium driven by playwright-core, headless, with
 * a fresh profile (a temporary user data dir) and no network services of its own (the machines
 * have no internet).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** A fresh chromium profile whose dashboard settings hold `settings` before any app script runs. */
export async function launchDashboard(baseURL: string, settings: Record<string, unknown>): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), "cachet-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    baseURL,
    viewport: { width: 1280, height: 800 }, // the screenshots' size
    acceptDownloads: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  await context.addInitScript((value) => {
    if (!localStorage.getItem("cachet.settings")) localStorage.setItem("cachet.settings", value);
  }, JSON.stringify(settings));
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
