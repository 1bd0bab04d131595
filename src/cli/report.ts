import type { Registry } from 'prom-client';
import type { OrchestratorWarning } from '../orchestrator/adaptation.js';

/**
 * An orchestrator's warning as one stderr line, whatever its message holds (a controller's error
 * may span lines): a multi-line warning would break the progress line and read as several.
 */
export function warningLine(warning: OrchestratorWarning): string {
  return `orchestrator: warning: ${warning.message.replace(/\s*\n\s*/g, ' ').trim()}\n`;
}

/** Quantile of a Prometheus histogram from its cumulative buckets (linear within a bucket). */
export function histogramQuantile(
  q: number,
  buckets: readonly { le: number; count: number }[],
): number | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return previousLe;
      const inBucket = count - previousCount;
      return inBucket === 0 ? le : previousLe + ((le - previousLe) * (rank - previousCount)) / inBucket;
    }
    previousLe = le;
    previousCount = count;
  }
  return previousLe;
}

/** p50/p99 task duration in seconds, from the registry's duration histogram, all tasks merged. */
export async function durationQuantiles(
  registry: Registry,
  prefix = 'orchestrator_',
): Promise<{ p50?: number; p99?: number }> {
  const metric = registry.getSingleMetric(`${prefix}task_duration_seconds`);
  if (metric === undefined) return {};
  const { values } = await metric.get();
  const byLe = new Map<number, number>();
  for (const sample of values as {
    labels: Record<string, string | number>;
    value: number;
    metricName?: string;
  }[]) {
    if (sample.metricName?.endsWith('_bucket') !== true) continue;
    const le = sample.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(sample.labels['le']);
    byLe.set(le, (byLe.get(le) ?? 0) + sample.value);
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
  return { p50: histogramQuantile(0.5, buckets), p99: histogramQuantile(0.99, buckets) };
}

/** Live counters of a run, and its progress display. */
export class Progress {
  done = 0;
  failed = 0;
  limitChanges = 0;
  readonly #started = performance.now();
  readonly #stream: NodeJS.WriteStream;
  readonly #total: number | undefined;
  readonly #state: () => { inFlight: number; limit: number };
  #timer: NodeJS.Timeout | undefined;

  constructor(stream: NodeJS.WriteStream, state: () => { inFlight: number; limit: number }, total?: number) {
    this.#stream = stream;
    this.#state = state;
    this.#total = total;
  }

  /** Starts the display: a line redrawn in place on a TTY, a log line every 5 s otherwise. */
  start(): void {
    const tty = this.#stream.isTTY;
    this.#timer = setInterval(() => this.#draw(tty), tty ? 200 : 5000);
    this.#timer.unref();
  }

  /** Records per second so far. */
  rate(): number {
    return (this.done / Math.max(1e-3, performance.now() - this.#started)) * 1000;
  }

  /** Seconds since the start. */
  elapsedSeconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /** Stops the display (and clears the TTY line). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#stream.isTTY) this.#stream.write('\r\x1b[K');
  }

  #draw(tty: boolean): void {
    const { inFlight, limit } = this.#state();
    const total = this.#total === undefined ? '' : `/${this.#total}`;
    const text = `${this.done}${total} done, ${Math.round(this.rate())}/s, ${inFlight} in flight, limit ${limit}, ${this.failed} errors`;
    this.#stream.write(tty ? `\r\x1b[K${text}` : `progress: ${text}\n`);
  }
}

/**
 * The end-of-run summary lines. `quantiles` may be read from the registry earlier, while its
 * metrics are still registered (a queue node's close removes them).
 */
export async function summary(
  progress: Progress,
  registry: Registry | undefined,
  quantiles?: { p50?: number; p99?: number },
): Promise<string> {
  const { p50, p99 } = quantiles ?? (registry === undefined ? {} : await durationQuantiles(registry));
  const ms = (s: number | undefined): string => (s === undefined ? 'n/a' : `${(s * 1000).toFixed(2)} ms`);
  return [
    `summary: ${progress.done} records, ${progress.failed} failed, ${Math.round(progress.rate())} records/s over ${progress.elapsedSeconds().toFixed(1)} s`,
    `summary: task latency p50 ${ms(p50)}, p99 ${ms(p99)}; limit changes ${progress.limitChanges}; peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
  ].join('\n');
}
