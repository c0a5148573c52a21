/**
 * `npm run chaos`: runs the six fault scenarios (full length) one after another, prints a table
 * of scenario, figure and verdict (and the failed checks), and exits 1 when any verdict fails.
 *
 *   npm run chaos                 all six, full length (6: consistency histories)
 *   npm run chaos -- --quick      the short versions the tests run
 *   npm run chaos -- 1 3          only scenarios 1 and 3
 */
import { startRedisServer } from "../infra/node-host/embedded/redis.ts";
import type { ScenarioResult } from "./harness.ts";
import { SCENARIOS } from "./scenarios.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.filter((a) => /^\d$/.test(a)).map(Number);

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  return [line(rows[0]), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.slice(1).map(line)].join("\n");
}

async function main() {
  // Host processes read REDIS_URL only where a scenario does not set it; keep one for safety.
  const fallback = process.env.REDIS_URL ? undefined : await startRedisServer();
  if (fallback) process.env.REDIS_URL = fallback.url;
  const results: ScenarioResult[] = [];
  try {
    for (const [index, scenario] of SCENARIOS.entries()) {
      if (only.length && !only.includes(index + 1)) continue;
      process.stdout.write(`scenario ${index + 1} ...`);
      const result = await scenario({ quick });
      results.push(result);
      process.stdout.write(` ${result.verdict} (${(result.durationMs / 1000).toFixed(1)} s)\n`);
    }
  } finally {
    await fallback?.stop();
  }
  console.log(`\n${table([["#", "scenario", "figure", "verdict"], ...results.map((r) => [String(r.id), r.name, r.figure, r.verdict.toUpperCase()])])}\n`);
  for (const r of results) {
    for (const c of r.checks)
      console.log(`${c.ok ? "  ok  " : "  FAIL"} ${r.id}. ${c.name}${c.detail ? `: ${c.detail.split("\n").slice(0, 6).join("\n        ")}` : ""}`);
  }
  process.exit(results.every((r) => r.verdict === "pass") ? 0 : 1);
}

await main();
