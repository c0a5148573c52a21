/**
 * Every command in the README's sh blocks is either run here or has a stated reason why not (a
 * tool this machine cannot have, or another test that runs it). The API snippet runs, as written,
 * against a platform started as `npm start` starts it, and each answer must be what its comment
 * says.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readConfig } from "../../../lib/config/index.ts";
import { startRedisServer, type EmbeddedRedis } from "../embedded/redis.ts";
import { startHostProcess, type HostProcess } from "../testing/hosts.ts";
import { appRoot } from "../testing/spawn.ts";
import { TEST_TOKENS } from "../testing/tokens.ts";

const README = readFileSync(join(appRoot, "README.md"), "utf8");

interface Command {
  /** README line number of the command's first line. */
  line: number;
  /** The command, continuation lines joined, without its trailing comment. */
  text: string;
  comment: string;
}

/** Every command of every sh block (comment-only lines left out). */
function readmeCommands(): Command[] {
  const commands: Command[] = [];
  const lines = README.split("\n");
  let inBlock = false;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("```")) {
      inBlock = !inBlock && lines[i] === "```sh";
      continue;
    }
    if (!inBlock || /^\s*(#.*)?$/.test(lines[i])) continue;
    const start = i;
    let text = lines[i];
    while (text.trimEnd().endsWith("\\")) text = text.trimEnd().slice(0, -1) + " " + lines[++i].trim();
    const hash = text.search(/\s#\s/);
    commands.push({ line: start + 1, text: (hash < 0 ? text : text.slice(0, hash)).trim(), comment: hash < 0 ? "" : text.slice(hash).replace(/^\s*#\s*/, "") });
  }
  return commands;
}

/** Commands this test runs against the platform it starts. */
const RUN_HERE = [/^curl /, /^TOKEN=\$\(cat \.cachet\/admin-token\)$/];

/** Commands run elsewhere or that cannot run on this machine, and why. */
const RUN_ELSEWHERE: Array<[RegExp, string]> = [
  [/^npm ci && npm start$/, "this test starts the platform with infra/node-host/main.ts, which `npm start` runs after building the dashboard"],
  [/^npm ci && npm test$/, "the suite this test belongs to"],
  [/^(export (REDIS_URL|DATABASE_URL)=|PORT=400[01] npm start)/, "infra/node-host/__tests__/instances.test.ts runs the one-machine block as written"],
  [
    /^(export (REDIS_URL|DATABASE_URL|CACHET_INTERNAL_SECRET|CACHE_ADMIN_TOKEN)=|npm start$|CACHET_GATEWAY_URL=\S+ npm start -- --services=)/,
    "the several-machines block: its settings are checked below",
  ],
  [/^docker (build|run|compose) /, "no container engine here; infra/deploy/deploy.test.ts checks the Dockerfile and the compose file"],
  [/^cp infra\/deploy\/\.env\.example /, "prepares the compose run"],
  [/^export CACHET_REDIS_PASSWORD=/, "the passwords infra/local/docker-compose.yml requires, for the Encore run (no container engine here)"],
  [/^kubectl /, "no Kubernetes here; infra/deploy/deploy.test.ts checks infra/k8s against the Kubernetes schemas"],
  [/^encore /, "the Encore CLI cannot be installed here"],
  [/^npm ci$/, "bash .ci/run runs it before the tests"],
  [/^npm run build:frontend$/, "frontend/e2e/dashboard.test.ts builds the dashboard with the same vite build (buildIfNeeded)"],
  [/^OTEL_EXPORTER_OTLP_ENDPOINT=\S+ npm start$/, "infra/node-host/__tests__/tracing.test.ts starts hosts with an OTLP endpoint against a local receiver"],
];

describe("the README's commands", () => {
  test("each one is run by this test or has a reason", () => {
    const unaccounted = readmeCommands().filter((c) => !RUN_HERE.some((r) => r.test(c.text)) && !RUN_ELSEWHERE.some(([r]) => r.test(c.text)));
    expect(unaccounted.map((c) => `README.md:${c.line}: ${c.text}`)).toEqual([]);
  });

  test("the several-machines settings are valid once the placeholders are filled in", () => {
    const start = README.indexOf("**Several machines**");
    const block = /```sh\n([\s\S]*?)```/.exec(README.slice(start))![1];
    const env = Object.fromEntries(
      [...block.matchAll(/^export (\w+)=(\S+)/gm)].map(([, name, value]) => [name, value === "..." ? "a-value-of-at-least-16-characters" : value]),
    );
    expect(Object.keys(env)).toEqual(["REDIS_URL", "DATABASE_URL", "CACHET_INTERNAL_SECRET", "CACHE_ADMIN_TOKEN"]);
    expect(readConfig({ ...env, CACHET_GATEWAY_URL: "http://machine-a:4000", CACHET_SERVICES: "cache-manager" }).problems).toEqual([]);
  });
});

describe("the API snippet, run against a started platform", () => {
  let redis: EmbeddedRedis;
  let host: HostProcess;
  beforeAll(async () => {
    redis = await startRedisServer(); // its own, so product:42 is not already cached by another test
    host = await startHostProcess({ env: { REDIS_URL: redis.url } });
  }, 180_000);
  afterAll(async () => {
    await host?.stop();
    await redis?.stop();
  });

  test("every command answers as its comment says", () => {
    const snippet = readmeCommands().filter((c) => RUN_HERE.some((r) => r.test(c.text)));
    expect(snippet.length).toBeGreaterThanOrEqual(6);
    // The reader's checkout after `npm start`: the admin token kept in .cachet/.
    const cwd = mkdtempSync(join(tmpdir(), "cachet-readme-"));
    mkdirSync(join(cwd, ".cachet"));
    writeFileSync(join(cwd, ".cachet", "admin-token"), `${TEST_TOKENS.admin}\n`);
    const SEPARATOR = "\n@@cachet-readme@@\n";
    const script = snippet
      .map((c) => c.text.replace(/localhost:4000/g, `127.0.0.1:${host.port}`))
      .map((text) => (text.startsWith("curl ") ? `${text} -sS; printf '${SEPARATOR.replace(/\n/g, "\\n")}'` : text))
      .join("\n");
    const run = spawnSync("bash", ["-e", "-c", script], { cwd, encoding: "utf8", timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const curls = snippet.filter((c) => c.text.startsWith("curl "));
    const answers = run.stdout
      .split(SEPARATOR)
      .slice(0, curls.length)
      .map((text) => JSON.parse(text) as Record<string, any>);
    expect(answers).toHaveLength(curls.length);
    curls.forEach((command, i) => {
      const answer = answers[i];
      expect(answer.code, `README.md:${command.line} answered ${JSON.stringify(answer)}`).toBeUndefined();
      const source = /^source: (\w+)/.exec(command.comment)?.[1];
      if (source) expect(answer.source, `README.md:${command.line}`).toBe(source);
    });
    expect(answers[0].healthy).toBe(true);
    expect(answers.at(-1)).toHaveProperty("l1");
  }, 90_000);
});
