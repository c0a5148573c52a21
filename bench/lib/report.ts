/**
 * The shape of a benchmark run's results (what `bench/results/<date>.json` holds) and its
 * rendering as Markdown tables — for the terminal and for the README's performance region.
 */

export type Mode = "tiny" | "quick" | "full";

export interface Table {
  title?: string;
  header: string[];
  rows: string[][];
}

/** One section's outcome: tables for people, `data` (raw figures) for tools, notes for context. */
export interface SectionResult {
  id: string;
  title: string;
  tables: Table[];
  notes: string[];
  data: unknown;
  /** Set when the section could not run; the rest of the run goes on. */
  error?: string;
  seconds: number;
}

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean;
  /** What limits the figure, when the target is missed (or why it may be noisy). */
  note?: string;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
  node: string;
  redis: string;
  loadAverage: number[];
}

export interface BenchResults {
  schema: 1;
  date: string;
  mode: Mode;
  machine: Machine;
  seconds: number;
  sections: SectionResult[];
  targets: TargetCheck[];
}

export function renderTable(table: Table): string {
  const cells = [table.header, ...table.rows];
  const widths = table.header.map((_, column) => Math.max(3, ...cells.map((row) => (row[column] ?? "").length)));
  const numeric = (cell: string) => /^[-+]?[\d.,]+\s?(%|×|k|M|B|KiB|MiB|GiB|µs|ms|s|points)?$|^n\/a$/.test(cell);
  // A column is right-aligned when every non-empty cell in it is a figure.
  const right = table.header.map((_, column) => column > 0 && table.rows.every((row) => !row[column] || numeric(row[column])));
  const line = (row: string[]) =>
    "| " +
    table.header.map((_, column) => (right[column] ? (row[column] ?? "").padStart(widths[column]) : (row[column] ?? "").padEnd(widths[column]))).join(" | ") +
    " |";
  const rule = "| " + widths.map((width, column) => (right[column] ? "-".repeat(width - 1) + ":" : "-".repeat(width))).join(" | ") + " |";
  return [line(table.header), rule, ...table.rows.map(line)].join("\n");
}

export function renderSection(section: SectionResult, headingLevel = "###"): string {
  const parts = [`${headingLevel} ${section.title}`];
  if (section.error) parts.push(`_Not measured: ${section.error}_`);
  for (const table of section.tables) {
    if (table.title) parts.push(`**${table.title}**`);
    parts.push(renderTable(table));
  }
  if (section.notes.length) parts.push(section.notes.map((note) => `- ${note}`).join("\n"));
  return parts.join("\n\n");
}

export function renderTargets(targets: readonly TargetCheck[]): Table {
  return {
    header: ["target", "goal", "measured", "met", "what limits it"],
    rows: targets.map((t) => [t.name, t.target, t.measured, t.met ? "yes" : "**no**", t.note ?? ""]),
  };
}

export function describeMachine(machine: Machine): string {
  const gib = (machine.memoryBytes / 1024 ** 3).toFixed(0);
  return `${machine.cpuModel}, ${machine.cores} cores, ${gib} GiB, ${machine.os}, Node ${machine.node}, Redis ${machine.redis}`;
}

/** The whole report as Markdown: machine, targets, then every section. */
export function renderReport(results: BenchResults, headingLevel = "###"): string {
  const head = [
    `${headingLevel} Summary`,
    `${results.mode} run of ${results.date} (${results.seconds.toFixed(0)} s) on ${describeMachine(results.machine)}; load average at start ${results.machine.loadAverage.map((l) => l.toFixed(2)).join(" / ")}. ` +
      "Peers run in the same run on the same machine; read ratios rather than absolute figures on a shared machine.",
    renderTable(renderTargets(results.targets)),
  ];
  return [...head, ...results.sections.map((section) => renderSection(section, headingLevel))].join("\n\n");
}
