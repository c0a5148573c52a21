/**
 * `npm run docs:config`: rewrites the README's configuration table from the settings'
 * declarations (lib/config/settings.ts). lib/config/readme.test.ts fails when it was not run.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withConfigTable } from "../../../lib/config/table.ts";
import { DEFAULT_APP_ROOT } from "./generate.ts";

const readme = join(DEFAULT_APP_ROOT, "README.md");
const before = readFileSync(readme, "utf8");
const after = withConfigTable(before);
writeFileSync(readme, after);
console.log(before === after ? "README.md: configuration table already up to date" : "README.md: configuration table rewritten");
