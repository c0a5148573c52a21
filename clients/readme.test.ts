/**
 * The README's "Use it from your app" snippets, run as written against a real platform host: the
 * Node client and Keyv snippets are executed (their `// expected` comments are the output they
 * must print), the Encore snippet is type-checked against the app's generated `~encore/clients`.
 * The only change made to a snippet: `@cachet/client` resolves to clients/node/src.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts.ts";
import { appRoot } from "../infra/node-host/testing/spawn.ts";
import { TEST_TOKENS } from "../infra/node-host/testing/tokens.ts";

const readme = readFileSync(join(appRoot, "README.md"), "utf8");
const snippet = (info: string) => {
  const match = new RegExp("```" + info + "\\n([\\s\\S]*?)```").exec(readme);
  if (!match) throw new Error(`README has no \`\`\`${info} block`);
  return match[1];
};
const work = join(appRoot, ".cachet", `readme-snippets-${process.pid}`);
let host: HostProcess;

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  // its own Pub/Sub streams: other test files publish invalidations on the shared Redis too
  host = await startHostProcess({ env: { CACHE_DEMO_LATENCY_MS: "0", CACHET_KEY_PREFIX: `readme${process.pid}:` } });
}, 120_000);
afterAll(async () => {
  await host?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** What a snippet's `console.log(...) // output` lines say it prints, in order. */
const expectedOutput = (code: string) => [...code.matchAll(/console\.log\(.*\);\s*\/\/\s*(.+)$/gm)].map((m) => m[1].trim());

test.each(["js node", "js keyv"])("the README's ```%s snippet runs and prints what its comments say", (info) => {
  const code = snippet(info).replaceAll('"@cachet/client"', JSON.stringify(join(appRoot, "clients/node/src/index.ts")));
  const file = join(work, `${info.replace(" ", "-")}.mjs`);
  writeFileSync(file, code);
  const run = spawnSync(process.execPath, ["--import", "tsx", file], {
    cwd: appRoot,
    encoding: "utf8",
    env: { ...process.env, CACHET_URL: host.url, CACHET_TOKEN: TEST_TOKENS.operator },
    timeout: 60_000,
  });
  expect(run.stderr).toBe("");
  expect(run.stdout.trim().split("\n")).toEqual(expectedOutput(code));
});

test("the README's ```ts encore snippet type-checks against the app's ~encore/clients", () => {
  writeFileSync(join(work, "encore-client.ts"), snippet("ts encore"));
  writeFileSync(join(work, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json", include: ["encore-client.ts"], exclude: [] }));
  const tsc = spawnSync(process.execPath, [join(appRoot, "node_modules/typescript/bin/tsc"), "-p", work], { encoding: "utf8", timeout: 120_000 });
  expect(tsc.stdout + tsc.stderr).toBe("");
  expect(tsc.status).toBe(0);
}, 130_000);
