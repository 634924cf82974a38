// Charts of the dashboard, drawn with uPlot (vendored, a global `uPlot`). Each chart comes with
// a table of the same numbers under it: what a screen reader reads, and what the browser tests
// compare with the API.

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function axes() {
  const text = css("--muted");
  const grid = { stroke: css("--line"), width: 1 };
  return [
    { stroke: text, grid, ticks: grid },
    { stroke: text, grid, ticks: grid },
  ];
}

function size(container) {
  return { width: Math.max(280, container.clientWidth || 600), height: 240 };
}

/** Keeps a chart as wide as its container. */
function follow(chart, container) {
  const observer = new ResizeObserver(() => chart.setSize(size(container)));
  observer.observe(container);
  return { chart, destroy() { observer.disconnect(); chart.destroy(); } };
}

const day = (date) => Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10)) / 1000;

/**
 * Burndown (SPEC §6): remaining and scope at the end of each day, the ideal line, and a marker
 * on each day whose scope changed after the start.
 */
export function burndownChart(container, burndown) {
  const days = burndown.days;
  const changed = new Set(burndown.scopeChanges.map((c) => c.at.slice(0, 10)));
  const data = [
    days.map((d) => day(d.date)),
    days.map((d) => d.remaining),
    days.map((d) => d.scope),
    days.map((d) => d.ideal),
    days.map((d) => (changed.has(d.date) ? d.scope : null)),
  ];
  const chart = new uPlot(
    {
      ...size(container),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      // Whole days only: a short sprint would otherwise get hour ticks.
      axes: [{ ...axes()[0], incrs: [86400, 2 * 86400, 7 * 86400], values: "{M}/{D}" }, axes()[1]],
      series: [
        { label: "Day", value: (_u, v) => (v == null ? "" : new Date(v * 1000).toISOString().slice(0, 10)) },
        { label: "Remaining", stroke: css("--remaining"), width: 2 },
        { label: "Scope", stroke: css("--scope"), width: 2, dash: [6, 4] },
        { label: "Ideal", stroke: css("--ideal"), width: 1, dash: [2, 4] },
        {
          label: "Scope change",
          stroke: css("--scope"),
          width: 0,
          paths: () => null,
          points: { show: true, size: 10, fill: css("--scope") },
        },
      ],
    },
    data,
    container,
  );
  return follow(chart, container);
}

/** Velocity like Jira's: committed and completed points of the last closed sprints. */
export function velocityChart(container, sprints) {
  const bars = (align) => uPlot.paths.bars({ size: [0.35, 48], align });
  const data = [
    sprints.map((s) => s.number),
    sprints.map((s) => s.metrics.committedPoints ?? 0),
    sprints.map((s) => s.metrics.velocity ?? 0),
  ];
  const chart = new uPlot(
    {
      ...size(container),
      scales: {
        x: { time: false, range: (_u, min, max) => [min - 0.6, max + 0.6] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        { ...axes()[0], values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? `Sprint ${t}` : "")) },
        axes()[1],
      ],
      series: [
        { label: "Sprint" },
        { label: "Committed", stroke: css("--ideal"), fill: css("--ideal"), paths: bars(-1), points: { show: false } },
        { label: "Completed", stroke: css("--done"), fill: css("--done"), paths: bars(1), points: { show: false } },
      ],
    },
    data,
    container,
  );
  return follow(chart, container);
}

/** Per-sprint ratios: commitment reliability, task completion, scope churn. */
export function trendChart(container, sprints) {
  const pct = (v) => (v == null ? null : Math.round(v * 1000) / 10);
  const data = [
    sprints.map((s) => s.number),
    sprints.map((s) => pct(s.metrics.commitmentReliability)),
    sprints.map((s) => pct(s.metrics.taskCompletion)),
    sprints.map((s) => pct(s.metrics.scopeChurn)),
  ];
  const chart = new uPlot(
    {
      ...size(container),
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(100, max)] } },
      axes: [
        { ...axes()[0], values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? `S${t}` : "")) },
        axes()[1],
      ],
      series: [
        { label: "Sprint" },
        { label: "Commitment reliability", stroke: css("--remaining"), width: 2 },
        { label: "Task completion", stroke: css("--done"), width: 2 },
        { label: "Scope churn", stroke: css("--scope"), width: 2, dash: [6, 4] },
      ],
    },
    data,
    container,
  );
  return follow(chart, container);
}

/** A KPI's readings over time against its target line. */
export function kpiChart(container, kpi, readings) {
  const sorted = [...readings].sort((a, b) => a.observedAt.localeCompare(b.observedAt));
  const data = [
    sorted.map((r) => Date.parse(r.observedAt) / 1000),
    sorted.map((r) => r.value),
    sorted.map(() => kpi.target),
  ];
  const chart = new uPlot(
    {
      ...size(container),
      height: 180,
      scales: { x: { time: true } },
      axes: axes(),
      series: [
        { label: "Observed", value: (_u, v) => (v == null ? "" : new Date(v * 1000).toISOString().slice(0, 16).replace("T", " ")) },
        { label: `${kpi.name} (${kpi.unit})`, stroke: css("--remaining"), width: 2, points: { show: true, size: 5 } },
        { label: "Target", stroke: css("--ok"), width: 1, dash: [6, 4], points: { show: false } },
      ],
    },
    data,
    container,
  );
  return follow(chart, container);
}
