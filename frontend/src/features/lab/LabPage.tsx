import { Play } from "lucide-react";
import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { LAB_SCENARIOS, runLab, type LabParams, type LabResult, type LabScenario } from "../../api/lab";
import { axisProps, ChartCard, colorAt, describeBars, describeSeries, gridProps, groupBars, pivot, tooltipProps } from "../../components/charts";
import { ErrorBox, PageHeader, Stat, Tabs } from "../../components/ui";
import { useAccess } from "../../lib/access";
import { formatDuration, formatNumber } from "../../lib/format";
import { oneOf } from "../../lib/url-state";
import { useUrlState } from "../../lib/use-url-state";

const schema = { scenario: oneOf(LAB_SCENARIOS, "cache-aside") };

// `defaults`: where a scenario's server-side default differs from PARAM_LABELS' placeholder (cache-manager/lab/run.ts).
const SCENARIOS: Record<LabScenario, { label: string; about: string; params: Array<keyof LabParams>; defaults?: Partial<Record<keyof LabParams, string>> }> = {
  "cache-aside": {
    label: "Cache-aside",
    about: "Reads a key three times: a miss that goes to the origin, an L1 hit, and an L2 hit after dropping the local copy.",
    params: ["samples", "originLatencyMs"],
  },
  "write-modes": {
    label: "Write modes",
    about: "The same writes as cache-only, write-through (waits for the origin) and write-behind (queued, the origin catches up).",
    params: ["samples", "originLatencyMs"],
  },
  stampede: {
    label: "Stampede",
    about: "A burst of concurrent reads of an expired hot key: naive cache-aside vs single-flight plus the Redis lease over two instances.",
    params: ["concurrency", "originLatencyMs"],
    defaults: { originLatencyMs: "100" },
  },
  "l2-outage": {
    label: "L2 outage",
    about: "L2 fails for a while: the breaker opens, the level drops to l1-only, reads keep working, writes are refused, and both recover.",
    params: [],
  },
  coherence: {
    label: "Coherence",
    about: "Two instances read a key, one writes a new value: plain local caches keep serving the old one; coherent L1s drop it at once.",
    params: [],
  },
};

const PARAM_LABELS: Record<keyof LabParams, { label: string; min: number; max: number; placeholder: string }> = {
  samples: { label: "Samples", min: 1, max: 200, placeholder: "20" },
  originLatencyMs: { label: "Origin latency (ms)", min: 0, max: 1000, placeholder: "50" },
  concurrency: { label: "Concurrent requests", min: 2, max: 1000, placeholder: "200" },
};

/** Results survive switching scenarios (not reloads: a run is an action, not state). */
const results = new Map<LabScenario, LabResult>();

export function LabPage() {
  const [{ scenario }, setState] = useUrlState(schema);
  const access = useAccess();
  const [params, setParams] = useState<LabParams>({});
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [, rerender] = useState(0);
  const info = SCENARIOS[scenario];
  const result = results.get(scenario);
  const canRun = access.can("admin");

  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      const picked = Object.fromEntries(info.params.filter((p) => params[p] !== undefined).map((p) => [p, params[p]]));
      results.set(scenario, await runLab(scenario, picked));
      rerender((n) => n + 1);
    } catch (e) {
      setError(e);
    } finally {
      setRunning(false);
    }
  };

  return (
    <div>
      <PageHeader title="Lab" description="The cache's mechanisms, run against this deployment's Redis with a lab origin of known latency. Admin only." />
      <Tabs
        label="Scenarios"
        tabs={LAB_SCENARIOS.map((id) => ({ id, label: SCENARIOS[id].label }))}
        value={scenario}
        onChange={(id) => setState({ scenario: id })}
      />
      <section className="card mb-4 space-y-3" aria-label="Scenario">
        <p className="text-sm">{info.about}</p>
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            void run();
          }}
        >
          {info.params.map((p) => (
            <label key={p} className="flex flex-col text-xs text-muted">
              {PARAM_LABELS[p].label}
              <input
                type="number"
                className="input mt-1 w-36"
                min={PARAM_LABELS[p].min}
                max={PARAM_LABELS[p].max}
                placeholder={info.defaults?.[p] ?? PARAM_LABELS[p].placeholder}
                value={params[p] ?? ""}
                onChange={(e) => setParams((cur) => ({ ...cur, [p]: e.target.value === "" ? undefined : Number(e.target.value) }))}
              />
            </label>
          ))}
          <button type="submit" className="btn-primary" disabled={!canRun || running}>
            <Play aria-hidden className="size-4" /> {running ? "Running…" : "Run scenario"}
          </button>
          {!canRun && <span className="text-xs text-muted">{access.readOnly ? "Read-only mode is on." : "Needs an admin token."}</span>}
        </form>
      </section>
      <ErrorBox error={error} what="Lab" />
      {result && <LabResultView result={result} />}
    </div>
  );
}

function LabResultView({ result }: { result: LabResult }) {
  const bars = groupBars(result.bars);
  const lines = pivot(result.points);
  const stepped = result.scenario === "l2-outage" || result.scenario === "coherence";
  const figure = (v: number) => formatNumber(v, 3);
  return (
    <section aria-label="Result" className="space-y-4" data-testid="lab-result">
      <div className="card">
        <h2 className="font-medium">{result.title}</h2>
        <p className="mt-1 text-sm" data-testid="lab-summary">
          {result.summary}
        </p>
        <p className="mt-1 text-xs text-muted">
          Ran {new Date(result.ranAt).toLocaleTimeString()} in {formatDuration(result.durationMs)}
        </p>
      </div>
      <div className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-5">
        {result.metrics.map((m) => (
          <Stat key={m.label} label={m.label} value={`${m.value < 0 ? "—" : formatNumber(m.value, 3)}${m.unit && m.value >= 0 ? ` ${m.unit}` : ""}`} />
        ))}
      </div>
      <div className="grid gap-4 xl:grid-cols-2">
        {bars.rows.length > 0 && (
          <ChartCard title="Comparison" testId="lab-bars" figures={describeBars(bars.rows, bars.variants, figure)}>
            <ResponsiveContainer>
              <BarChart data={bars.rows}>
                <CartesianGrid {...gridProps} vertical={false} />
                <XAxis dataKey="group" {...axisProps} />
                <YAxis {...axisProps} width={48} />
                <Tooltip {...tooltipProps} cursor={{ fill: "var(--line)", opacity: 0.4 }} />
                <Legend wrapperStyle={{ fontSize: 12 }} />
                {bars.variants.map((v, i) => (
                  <Bar key={v} dataKey={v} fill={colorAt(i)} radius={[3, 3, 0, 0]} isAnimationActive={false} />
                ))}
              </BarChart>
            </ResponsiveContainer>
          </ChartCard>
        )}
        {lines.rows.length > 0 && (
          <ChartCard
            title={`${result.yLabel} by ${result.xLabel}`}
            testId="lab-lines"
            figures={describeSeries(
              lines.rows,
              lines.series.map((name) => ({ key: name, name, format: figure })),
            )}
          >
            <ResponsiveContainer>
              <LineChart data={lines.rows}>
                <CartesianGrid {...gridProps} />
                <XAxis dataKey="x" type="number" domain={["dataMin", "dataMax"]} {...axisProps} />
                <YAxis {...axisProps} width={48} />
                <Tooltip {...tooltipProps} />
                <Legend wrapperStyle={{ fontSize: 12 }} />
                {result.events.map((e) => (
                  <ReferenceLine
                    key={`${e.x}-${e.label}`}
                    x={e.x}
                    stroke="var(--muted)"
                    strokeDasharray="4 2"
                    label={{ value: e.label, fill: "var(--muted)", fontSize: 10, position: "insideTopLeft" }}
                  />
                ))}
                {lines.series.map((s, i) => (
                  <Line
                    key={s}
                    dataKey={s}
                    stroke={colorAt(i)}
                    dot={false}
                    strokeWidth={2}
                    type={stepped ? "stepAfter" : "monotone"}
                    isAnimationActive={false}
                  />
                ))}
              </LineChart>
            </ResponsiveContainer>
          </ChartCard>
        )}
      </div>
      {result.notes.length > 0 && (
        <ul className="list-disc space-y-1 pl-5 text-sm text-muted">
          {result.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
