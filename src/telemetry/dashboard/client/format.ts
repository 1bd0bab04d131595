// The dashboard's browser scripts are classic scripts sharing the page's scope, loaded in the
// order of page.ts's CLIENT_SCRIPTS: this one first. They are type-checked by this directory's
// tsconfig.json (DOM types) and transpiled by scripts/build-dashboard.mjs.

/** The frame schema, declared once in ../schema.ts. */
type DashboardFrame = import('../schema.js').DashboardFrame;
type OrchestratorFrame = import('../schema.js').OrchestratorFrame;
type TaskStats = import('../schema.js').TaskStats;

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 });
const whole = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

/** A duration in seconds, in the unit that reads best: `870 µs`, `12.4 ms`, `2.50 s`. */
function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds === 0) return '0';
  if (seconds < 1e-3) return `${(seconds * 1e6).toPrecision(3).replace(/\.0+$/, '')} µs`;
  if (seconds < 1) return `${(seconds * 1e3).toPrecision(3).replace(/\.0+$/, '')} ms`;
  if (seconds < 100) return `${seconds.toPrecision(3)} s`;
  return `${whole.format(seconds)} s`;
}

/** A count or a rate: `7`, `12.5`, `3.4K`. */
function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (Math.abs(value) < 10 && !Number.isInteger(value)) return value.toFixed(1);
  return compact.format(value);
}

/** A ratio 0..1 as a percentage. */
function formatRatio(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '–';
  return `${(ratio * 100).toFixed(0)}%`;
}

/** A wall-clock time of day, `14:03:27`. */
function formatClock(milliseconds: number): string {
  return new Date(milliseconds).toLocaleTimeString('en-GB', { hour12: false });
}

/** Sum of a record's values. */
function sumValues(record: Record<string, number>): number {
  let sum = 0;
  for (const value of Object.values(record)) sum += value;
  return sum;
}
