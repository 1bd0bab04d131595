/// <reference types="uplot" />
// The dashboard's charts: which history columns each one draws, and how.

/** One line of a chart: a history column and its look. */
interface LineSpec {
  key: string;
  label: string;
  color: string;
  scale?: string;
  dash?: number[];
  width?: number;
  step?: boolean;
  fill?: string;
  format: (value: number) => string;
}

/** One chart: its lines (which may come and go with the data) and its axes. */
interface ChartSpec {
  id: string;
  lines: (history: FrameHistory) => LineSpec[];
  scales: Record<string, uPlot.Scale>;
  /** The y axes, left first; `[scale key, formatter]`. */
  axes: [string, (value: number) => string][];
  /** Scales that count whole things: their ticks are integers. */
  integer?: string[];
  /** Draw the limit changes as marked vertical lines. */
  adaptations?: boolean;
  /** Shown while there is nothing to draw. */
  empty: string;
}

// uPlot's enums are ambient const enums, which the per-file transpile cannot inline: their values.
const LEFT = 3 as unknown as uPlot.Axis.Side;
const RIGHT = 1 as unknown as uPlot.Axis.Side;
const LOG = 3 as unknown as uPlot.Scale.Distr;

const CHART_HEIGHT = 210;
/** The shortest time span a chart shows, in seconds. */
const MIN_SPAN = 10;
/** Time ticks fall on whole seconds and minutes. */
const SECOND_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
const INK = '#667085';
const GRID = '#eef0f3';
const UP = '#15803d';
const DOWN = '#c2410c';

const OUTCOME_COLORS: Record<string, string> = {
  success: '#16a34a',
  error: '#dc2626',
  timeout: '#ea580c',
  crashed: '#7c3aed',
  aborted: '#94a3b8',
  rejected: '#ca8a04',
};
// Warm colors first: error types take them in the order they appear.
const PALETTE = ['#dc2626', '#ea580c', '#9333ea', '#db2777', '#ca8a04', '#2563eb', '#0d9488', '#4b5563'];
const assigned = new Map<string, string>();

/** A color per name, kept for the life of the page so a line never changes color. */
function colorOf(name: string): string {
  let color = assigned.get(name);
  if (color === undefined) {
    color = PALETTE[assigned.size % PALETTE.length] ?? INK;
    assigned.set(name, color);
  }
  return color;
}

const perSecond = (value: number): string => `${formatNumber(value)}/s`;
const percent = (value: number): string => `${formatNumber(value)}%`;

/** The charts, in page order. */
const CHARTS: ChartSpec[] = [
  {
    id: 'concurrency',
    lines: () => [
      { key: 'limit', label: 'limit', color: '#4f46e5', width: 2.5, step: true, format: formatNumber },
      {
        key: 'inFlight',
        label: 'in flight',
        color: '#0ea5e9',
        fill: 'rgba(14,165,233,0.12)',
        format: formatNumber,
      },
      { key: 'threads', label: 'threads', color: '#64748b', dash: [5, 4], step: true, format: formatNumber },
      { key: 'queued', label: 'queued (right)', color: '#f59e0b', scale: 'queue', format: formatNumber },
    ],
    scales: {
      y: { range: (_u, _min, max) => [0, Math.max(4, max * 1.1)] },
      queue: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] },
    },
    axes: [
      ['y', formatNumber],
      ['queue', formatNumber],
    ],
    integer: ['y', 'queue'],
    adaptations: true,
    empty: 'waiting for data…',
  },
  {
    id: 'throughput',
    lines: (history) =>
      history.keys('out:').map((key) => {
        const outcome = key.slice(4);
        return { key, label: outcome, color: OUTCOME_COLORS[outcome] ?? colorOf(outcome), format: perSecond };
      }),
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [['y', perSecond]],
    empty: 'no run has settled yet',
  },
  {
    id: 'latency',
    lines: (history) => [
      { key: 'run:p50', label: 'run p50', color: '#2563eb', format: formatSeconds },
      { key: 'run:p99', label: 'run p99', color: '#1e3a8a', width: 2, format: formatSeconds },
      { key: 'wait:p50', label: 'wait p50', color: '#f59e0b', format: formatSeconds },
      { key: 'wait:p99', label: 'wait p99', color: '#b45309', width: 2, format: formatSeconds },
      ...history
        .keys('gpu:wait')
        .map((key) => ({ key, label: 'GPU wait', color: '#16a34a', dash: [5, 4], format: formatSeconds })),
    ],
    scales: { y: { distr: LOG, log: 10 } },
    axes: [['y', formatSeconds]],
    empty: 'no run has settled yet',
  },
  {
    id: 'errors',
    lines: (history) =>
      history
        .keys('err:')
        .map((key) => ({ key, label: key.slice(4), color: colorOf(key.slice(4)), format: perSecond })),
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [['y', perSecond]],
    empty: 'no errors',
  },
  {
    id: 'machine',
    lines: (history) =>
      [
        {
          key: 'sys:cpu',
          label: 'CPU load',
          color: '#0ea5e9',
          fill: 'rgba(14,165,233,0.10)',
          format: percent,
        },
        { key: 'sys:gpu', label: 'GPU utilization', color: '#16a34a', format: percent },
        { key: 'sys:errorRate', label: 'error rate', color: '#dc2626', dash: [5, 4], format: percent },
      ].filter((line) => history.keys(line.key).length > 0),
    scales: { y: { range: [0, 100] } },
    axes: [['y', percent]],
    empty: 'CPU load is sampled with adaptation on; no signal yet',
  },
];

/** A chart on the page: rebuilt when its set of lines changes, otherwise fed new data. */
class Chart {
  plot: uPlot | undefined;
  #signature: string | undefined;

  constructor(
    readonly spec: ChartSpec,
    readonly element: HTMLElement,
    readonly history: FrameHistory,
    readonly windowSeconds: () => number,
  ) {}

  render(): void {
    const lines = this.spec.lines(this.history);
    const signature = lines.map((line) => line.key).join('\n');
    if (signature !== this.#signature) {
      this.#signature = signature;
      this.plot?.destroy();
      this.plot = undefined;
      this.element.textContent = '';
      if (lines.length === 0) {
        const empty = document.createElement('div');
        empty.className = 'empty';
        empty.textContent = this.spec.empty;
        this.element.append(empty);
      } else {
        this.plot = new uPlot(this.#options(lines), [[]], this.element);
      }
    }
    this.plot?.setData([this.history.times, ...lines.map((line) => this.history.column(line.key))]);
  }

  resize(): void {
    this.plot?.setSize({ width: this.element.clientWidth, height: CHART_HEIGHT });
  }

  #options(lines: LineSpec[]): uPlot.Options {
    const stepped = uPlot.paths.stepped?.({ align: 1 });
    const axisStyle = { stroke: INK, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } };
    return {
      width: this.element.clientWidth,
      height: CHART_HEIGHT,
      cursor: { sync: { key: 'dashboard' } },
      legend: { live: true },
      scales: {
        x: {
          time: true,
          // The data fill the width as they come, up to the chosen window; never less than
          // MIN_SPAN, whose ticks would repeat the same second.
          range: (_u, min, max) => [Math.min(max - MIN_SPAN, Math.max(min, max - this.windowSeconds())), max],
        },
        ...this.spec.scales,
      },
      axes: [
        {
          ...axisStyle,
          space: 80,
          incrs: SECOND_STEPS,
          values: (_u: uPlot, splits: number[]) => splits.map((t) => formatClock(t * 1000)),
        },
        ...this.spec.axes.map(([scale, format], i) => ({
          ...axisStyle,
          scale,
          side: i === 0 ? LEFT : RIGHT,
          size: 64,
          grid: { ...axisStyle.grid, show: i === 0 },
          values: (_u: uPlot, splits: number[]) => splits.map(format),
          ...(this.spec.integer?.includes(scale) && { incrs: INTEGER_STEPS }),
        })),
      ],
      series: [
        { value: (_u: uPlot, time: number | null) => (time === null ? '–' : formatClock(time * 1000)) },
        ...lines.map((line) => ({
          label: line.label,
          stroke: line.color,
          width: line.width ?? 1.75,
          scale: line.scale ?? 'y',
          ...(line.dash && { dash: line.dash }),
          ...(line.fill && { fill: line.fill }),
          ...(line.step && stepped && { paths: stepped }),
          points: { show: false },
          value: (_u: uPlot, value: number | null) => (value === null ? '–' : line.format(value)),
        })),
      ],
      hooks: {
        // Off the chart, the legend shows the latest values: it doubles as a readout.
        setData: [
          (u) => {
            const last = u.data[0].length - 1;
            if (last >= 0 && (u.cursor.idx ?? -1) < 0) u.setLegend({ idx: last });
          },
        ],
        ...(this.spec.adaptations && { draw: [(u: uPlot) => drawAdaptations(u, this.history.adaptations)] }),
      },
    };
  }
}

/** Marks each limit change: a dashed line, green going up and orange going down, with its reason. */
function drawAdaptations(u: uPlot, adaptations: readonly Adaptation[]): void {
  const { ctx } = u;
  const ratio = uPlot.pxRatio;
  const { top, height } = u.bbox;
  const min = u.scales['x']?.min ?? 0;
  const max = u.scales['x']?.max ?? 0;
  let labelEnd = Number.NEGATIVE_INFINITY;
  const labels: { x: number; text: string; color: string; width: number }[] = [];
  ctx.save();
  ctx.font = `${11 * ratio}px system-ui, sans-serif`;
  ctx.lineWidth = ratio;
  for (const adaptation of adaptations) {
    if (adaptation.time < min || adaptation.time > max) continue;
    const x = Math.round(u.valToPos(adaptation.time, 'x', true));
    const color = adaptation.direction === 'up' ? UP : DOWN;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.setLineDash([3 * ratio, 3 * ratio]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.setLineDash([]);
    const tip = 5 * ratio;
    ctx.beginPath();
    if (adaptation.direction === 'up') {
      ctx.moveTo(x - tip, top + tip);
      ctx.lineTo(x + tip, top + tip);
      ctx.lineTo(x, top);
    } else {
      ctx.moveTo(x - tip, top);
      ctx.lineTo(x + tip, top);
      ctx.lineTo(x, top + tip);
    }
    ctx.fill();
    const width = ctx.measureText(adaptation.reason).width;
    // Labels would pile up when changes come fast; the list beside the chart has them all.
    if (x > labelEnd + 6 * ratio && x + width + 4 * ratio < u.bbox.left + u.bbox.width) {
      labels.push({ x: x + 4 * ratio, text: adaptation.reason, color, width });
      labelEnd = x + 4 * ratio + width;
    }
  }
  // Over the lines, on a backing, so a change right after another does not strike its label out.
  for (const label of labels) {
    ctx.fillStyle = 'rgba(255,255,255,0.85)';
    ctx.fillRect(label.x - 2 * ratio, top + 6 * ratio, label.width + 4 * ratio, 13 * ratio);
    ctx.fillStyle = label.color;
    ctx.fillText(label.text, label.x, top + 16 * ratio);
  }
  ctx.restore();
}
