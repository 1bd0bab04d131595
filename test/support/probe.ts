import type { Registry } from 'prom-client';

/** The worker module with the `probe` tasks (and every task of tasks.mjs). */
export const edgeWorker = new URL('../fixtures/edge-tasks.mjs', import.meta.url);

/** The start log of the `probe` fixture: the `n` of every probe, in the order they started. */
export class StartLog {
  readonly shared: SharedArrayBuffer;
  readonly #cells: Int32Array;

  constructor(capacity = 1024) {
    this.shared = new SharedArrayBuffer(4 * (capacity + 1));
    this.#cells = new Int32Array(this.shared);
  }

  /** How many probes have started. */
  get length(): number {
    return Atomics.load(this.#cells, 0);
  }

  /** The `n`s in start order. */
  entries(): number[] {
    return Array.from({ length: this.length }, (_, i) => Atomics.load(this.#cells, 1 + i));
  }
}

/** The concurrency counter of the `probe` fixture: probes that count themselves in shared memory. */
export class Concurrency {
  readonly shared = new SharedArrayBuffer(12);
  readonly #cells = new Int32Array(this.shared);

  /** Probes running now. */
  get running(): number {
    return Atomics.load(this.#cells, 0);
  }

  /** The most probes ever seen running at once. */
  get max(): number {
    return Atomics.load(this.#cells, 1);
  }

  /** Probes started in all. */
  get started(): number {
    return Atomics.load(this.#cells, 2);
  }

  /** Forgets the maximum (to measure a new phase). */
  resetMax(): void {
    Atomics.store(this.#cells, 1, Atomics.load(this.#cells, 0));
  }
}

/** One sample of a metric, as prom-client's JSON gives it. */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** The samples of metric `name` on `registry` (histograms: every series, buckets included). */
export async function samples(registry: Registry, name: string): Promise<Sample[]> {
  const metrics = (await registry.getMetricsAsJSON()) as unknown as { name: string; values: Sample[] }[];
  return metrics.find((metric) => metric.name === name)?.values ?? [];
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there are none). */
export async function sampleSum(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
  metricName = name,
): Promise<number> {
  const all = await samples(registry, name);
  return all
    .filter((s) => (s.metricName ?? name) === metricName)
    .filter((s) => Object.entries(labels).every(([key, value]) => s.labels[key] === value))
    .reduce((sum, s) => sum + s.value, 0);
}
