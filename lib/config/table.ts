/**
 * The README's configuration table, rendered from the declarations (settings.ts). `npm run
 * docs:config` writes it between the README's `config:start` / `config:end` markers, and
 * readme.test.ts fails when the README holds anything else.
 */
import { SETTINGS, type Setting } from "./settings";

export const TABLE_START = "<!-- config:start -->";
export const TABLE_END = "<!-- config:end -->";

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function defaultText(setting: Setting<unknown>): string {
  if (setting.defaultText) return setting.defaultText;
  if (setting.default === undefined) return "none";
  return setting.kind.format(setting.default);
}

function underEncore(setting: Setting<unknown>): string {
  if (setting.secret) return "secret";
  if (setting.readBy.every((reader) => reader === "host")) return "—";
  return "env";
}

/** The Markdown table, one row per setting, in declaration order. */
export function renderConfigTable(): string {
  const rows = (Object.entries(SETTINGS) as Array<[string, Setting<unknown>]>).map(
    ([name, setting]) =>
      `| \`${name}\` | ${cell(defaultText(setting))} | ${cell(setting.kind.accepts)} | ${setting.readBy.join(", ")} | ${underEncore(setting)} | ${cell(setting.meaning)} |`,
  );
  return ["| variable | default | accepts | read by | under Encore | meaning |", "| --- | --- | --- | --- | --- | --- |", ...rows].join("\n");
}

/** `readme` with the table between the markers replaced by the current one. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`the README has no ${TABLE_START} … ${TABLE_END} section`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${renderConfigTable()}\n${readme.slice(end)}`;
}
