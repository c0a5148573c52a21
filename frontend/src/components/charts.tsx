/**
 * Chart conventions: colours come from the theme tokens (--chart-1..5, --muted, --line), so the
 * charts follow light and dark mode without special cases.
 */
import type { ReactNode } from "react";

export const SERIES_COLORS = ["var(--chart-1)", "var(--chart-2)", "var(--chart-3)", "var(--chart-4)", "var(--chart-5)"];
export const colorAt = (i: number) => SERIES_COLORS[i % SERIES_COLORS.length];

export const axisProps = {
  stroke: "var(--line)",
  tick: { fill: "var(--muted)", fontSize: 11 },
  tickLine: false,
} as const;

export const gridProps = { stroke: "var(--line)", strokeDasharray: "3 3" } as const;

export const tooltipProps = {
  contentStyle: { background: "var(--panel)", border: "1px solid var(--line)", borderRadius: 6, color: "var(--fg)", fontSize: 12 },
  labelStyle: { color: "var(--muted)" },
} as const;

/** Long-format points → one row per x with a column per series (what Recharts wants). */
export function pivot(points: ReadonlyArray<{ x: number; series: string; value: number }>): { rows: Array<Record<string, number>>; series: string[] } {
  const series: string[] = [];
  const byX = new Map<number, Record<string, number>>();
  for (const p of points) {
    if (!series.includes(p.series)) series.push(p.series);
    const row = byX.get(p.x) ?? { x: p.x };
    row[p.series] = p.value;
    byX.set(p.x, row);
  }
  return { rows: [...byX.values()].sort((a, b) => a.x - b.x), series };
}

/** Bars grouped by `group`, one column per variant. */
export function groupBars(bars: ReadonlyArray<{ group: string; variant: string; value: number }>): {
  rows: Array<Record<string, string | number>>;
  variants: string[];
} {
  const variants: string[] = [];
  const byGroup = new Map<string, Record<string, string | number>>();
  for (const b of bars) {
    if (!variants.includes(b.variant)) variants.push(b.variant);
    const row = byGroup.get(b.group) ?? { group: b.group };
    row[b.variant] = b.value;
    byGroup.set(b.group, row);
  }
  return { rows: [...byGroup.values()], variants };
}

export interface SeriesFigure {
  /** The row field holding the series' values. */
  key: string;
  name: string;
  format: (value: number) => string;
}

/**
 * The figures a line or area chart shows, as text (its text alternative): each series' latest
 * value and its range over the points drawn. "No data yet." when nothing is drawn.
 */
export function describeSeries(rows: ReadonlyArray<Record<string, unknown>>, series: readonly SeriesFigure[]): string {
  const parts: string[] = [];
  for (const { key, name, format } of series) {
    const values = rows.map((r) => r[key]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    if (values.length === 0) continue;
    const last = values[values.length - 1];
    const min = Math.min(...values);
    const max = Math.max(...values);
    parts.push(min === max ? `${name} ${format(last)}` : `${name} ${format(last)} (${format(min)} to ${format(max)})`);
  }
  return parts.length === 0 ? "No data yet." : `Latest of ${rows.length} points: ${parts.join("; ")}.`;
}

/** The figures of a grouped bar chart (groupBars' rows), as text: each group's value per variant. */
export function describeBars(rows: ReadonlyArray<Record<string, string | number>>, variants: readonly string[], format: (value: number) => string): string {
  if (rows.length === 0) return "No data yet.";
  return `${rows
    .map(
      (row) =>
        `${row.group}: ${variants
          .filter((v) => typeof row[v] === "number")
          .map((v) => `${v} ${format(row[v] as number)}`)
          .join(", ")}`,
    )
    .join("; ")}.`;
}

/**
 * A chart in a card that fits any width (the chart resizes with it) and states its figures in
 * text under it: what a screen reader reads, and what a phone user can read at a glance.
 */
export function ChartCard({ title, figures, children, testId }: { title: string; figures: string; children: ReactNode; testId?: string }) {
  return (
    <figure className="card min-w-0" data-testid={testId}>
      <figcaption className="label mb-2">{title}</figcaption>
      <div className="h-56">{children}</div>
      <p className="mt-2 text-xs text-muted" data-testid="chart-figures">
        {figures}
      </p>
    </figure>
  );
}
