import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SETTINGS } from "./index";
import { renderConfigTable, TABLE_END, TABLE_START } from "./table";

const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");

describe("the README's configuration table", () => {
  it("is the one rendered from the declarations (run `npm run docs:config` after changing a setting)", () => {
    const start = readme.indexOf(TABLE_START);
    const end = readme.indexOf(TABLE_END);
    expect(start, "README markers").toBeGreaterThan(0);
    expect(readme.slice(start + TABLE_START.length, end).trim()).toBe(renderConfigTable());
  });

  it("has a row for every setting, and the README names no setting the module does not declare", () => {
    const table = renderConfigTable();
    for (const name of Object.keys(SETTINGS)) expect(table).toContain(`| \`${name}\` |`);
    // Client code in the README reads its own variables (process.env.CACHET_URL): not settings of the platform.
    const outsideTable = (readme.slice(0, readme.indexOf(TABLE_START)) + readme.slice(readme.indexOf(TABLE_END))).replace(/process\.env\.\w+/g, "");
    const mentioned = new Set(outsideTable.match(/\b(?:CACHE|CACHET|WARMING|INVALIDATION)_[A-Z0-9_]+\b/g) ?? []);
    const tools = [
      "CACHET_UPDATE_SCREENSHOTS",
      "CACHET_API_URL",
      "CACHE_MANAGER_SERVERS",
      "CACHE_L1_MAXBYTES" /* the typo the text shows */,
      /* infra/local/docker-compose.yml's passwords */ "CACHET_REDIS_PASSWORD",
      "CACHET_PG_PASSWORD",
      "CACHET_GRAFANA_PASSWORD",
    ];
    expect([...mentioned].filter((name) => !(name in SETTINGS) && !tools.includes(name))).toEqual([]);
  });
});
