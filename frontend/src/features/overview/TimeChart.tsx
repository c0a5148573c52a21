import { Area, AreaChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { axisProps, ChartCard, colorAt, describeSeries, gridProps, tooltipProps, type SeriesFigure } from "../../components/charts";

export interface TimeSeries extends SeriesFigure {
  /** Index into the theme's chart colours. */
  color: number;
}

interface Props {
  title: string;
  testId: string;
  kind: "line" | "area";
  rows: ReadonlyArray<Record<string, unknown>>;
  series: readonly TimeSeries[];
  /** Area series stack (ops by tier add up to the total). */
  stacked?: boolean;
  yDomain?: [number, number];
  yWidth?: number;
}

/**
 * One Overview chart over time (x: the rows' `label`), drawn and described from the same series
 * list: the lines or areas, the tooltip's formatting and the figures in text under the chart.
 */
export function TimeChart({ title, testId, kind, rows, series, stacked, yDomain, yWidth = 44 }: Props) {
  const formatOf = (name: unknown) => series.find((s) => s.name === name)?.format ?? String;
  const axes = (
    <>
      <CartesianGrid {...gridProps} />
      <XAxis dataKey="label" {...axisProps} minTickGap={30} />
      <YAxis {...axisProps} domain={yDomain} tickFormatter={(v: number) => series[0].format(v)} width={yWidth} />
      <Tooltip {...tooltipProps} formatter={(value, name) => formatOf(name)(Number(value))} />
      {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
    </>
  );
  const data = rows as Array<Record<string, unknown>>;
  return (
    <ChartCard title={title} testId={testId} figures={describeSeries(rows, series)}>
      <ResponsiveContainer>
        {kind === "area" ? (
          <AreaChart data={data}>
            {axes}
            {series.map((s) => (
              <Area
                key={s.key}
                dataKey={s.key}
                name={s.name}
                stackId={stacked ? "stack" : undefined}
                stroke={colorAt(s.color)}
                fill={colorAt(s.color)}
                fillOpacity={0.3}
                isAnimationActive={false}
              />
            ))}
          </AreaChart>
        ) : (
          <LineChart data={data}>
            {axes}
            {series.map((s) => (
              <Line key={s.key} dataKey={s.key} name={s.name} stroke={colorAt(s.color)} dot={false} strokeWidth={2} isAnimationActive={false} connectNulls />
            ))}
          </LineChart>
        )}
      </ResponsiveContainer>
    </ChartCard>
  );
}
