/**
 * Checks the browser suite runs on every page: axe-core (the engine in browsers' dev tools) for
 * accessibility, and the page's width against the viewport (nothing may scroll sideways).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface Violation {
  rule: string;
  impact: string;
  help: string;
  /** CSS selectors of the offending elements (the first few). */
  targets: string[];
}

/**
 * axe-core's critical and serious violations on the page as it is now. Injected with evaluate
 * (not a script tag), so a Content-Security-Policy cannot block it. `label-content-name-mismatch`
 * (a control's accessible name must contain its visible text) is experimental in axe and off by
 * default: it is switched on, as it is one the dashboard failed.
 */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    type Result = { id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> };
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: Result[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"], rules: { "label-content-name-mismatch": { enabled: true } } });
    return result.violations.map((v) => ({
      rule: v.id,
      impact: v.impact ?? "",
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.map(String).join(" ")),
    }));
  });
  return violations.filter((v) => v.impact === "critical" || v.impact === "serious");
}

/** How far the page is wider than the viewport (0: it fits), and the widest elements sticking out. */
export async function horizontalOverflow(page: Page): Promise<{ excess: number; culprits: string[] }> {
  return page.evaluate(() => {
    const viewport = document.documentElement.clientWidth;
    const excess = Math.max(0, document.documentElement.scrollWidth - viewport);
    const culprits: string[] = [];
    if (excess > 0) {
      for (const el of document.body.querySelectorAll<HTMLElement>("*")) {
        const right = el.getBoundingClientRect().right;
        if (right > viewport + 1 && culprits.length < 8) {
          culprits.push(
            `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}.${String(el.className).split(" ").slice(0, 3).join(".")} → ${Math.round(right)}px`,
          );
        }
      }
    }
    return { excess, culprits };
  });
}
