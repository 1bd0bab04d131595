import type { Registry } from 'prom-client';
import type { SignalReading, SignalSource } from './signal-source.js';

/** Metric names a {@link RegistrySource} reads. */
export interface RegistrySourceOptions {
  /** @default 'orchestrator_queue_depth' */
  queueDepth?: string;
  /** @default 'orchestrator_gpu_wait_seconds' */
  gpuWaitSeconds?: string;
  /** @default 'orchestrator_error_rate_ratio' */
  errorRate?: string;
}

/**
 * Reads queue depth, GPU wait and error rate back from a prom-client Registry by metric name —
 * for signals another component already exports. Each value is the sum of the metric's samples;
 * a metric that is missing or has no sample is absent.
 *
 * @example
 * ```ts
 * const orchestrator = new Orchestrator({ worker, signals: [new RegistrySource(registry, { queueDepth: 'ingest_backlog' })] });
 * ```
 */
export class RegistrySource implements SignalSource {
  readonly #names: Required<RegistrySourceOptions>;

  constructor(
    readonly registry: Registry,
    names: RegistrySourceOptions = {},
  ) {
    this.#names = {
      queueDepth: names.queueDepth ?? 'orchestrator_queue_depth',
      gpuWaitSeconds: names.gpuWaitSeconds ?? 'orchestrator_gpu_wait_seconds',
      errorRate: names.errorRate ?? 'orchestrator_error_rate_ratio',
    };
  }

  /** {@link SignalSource} */
  async read(): Promise<SignalReading> {
    const [queueDepth, gpuWaitSeconds, errorRate] = await Promise.all([
      this.#value(this.#names.queueDepth),
      this.#value(this.#names.gpuWaitSeconds),
      this.#value(this.#names.errorRate),
    ]);
    return { queueDepth, gpuWaitSeconds, errorRate };
  }

  async #value(name: string): Promise<number | undefined> {
    const metric = this.registry.getSingleMetric(name);
    if (metric === undefined) return undefined;
    const { values } = await metric.get();
    if (values.length === 0) return undefined;
    return values.reduce((sum, sample) => sum + sample.value, 0);
  }
}
