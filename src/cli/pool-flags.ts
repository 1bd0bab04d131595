import { InvalidConfigError } from '../errors.js';
import type { OrchestratorOptions } from '../orchestrator/options.js';
import { UsageError } from './args.js';
import { shippedWorker } from './shipped.js';

/** The flags that configure a pool, for `run` and `node` alike. */
export interface PoolFlags {
  module: string;
  controller: 'threshold' | 'gradient';
  base: number | undefined;
  min: number | undefined;
  max: number | undefined;
}

/** The orchestrator's option names as the flags that set them, for usage errors. */
const FLAG_OF: Readonly<Record<string, string>> = {
  baseLimit: '--base',
  minLimit: '--min',
  maxLimit: '--max',
  lockDurationMs: '--lock-duration-ms',
  stalledIntervalMs: '--stalled-interval-ms',
  nodeName: '--name',
  queue: '--queue',
  prefix: '--prefix',
};

/** The Orchestrator options the pool flags set; `text` and `image` name the shipped workers. */
export function poolOptions(flags: PoolFlags): OrchestratorOptions {
  return {
    worker: shippedWorker(flags.module) ?? flags.module,
    controller: flags.controller,
    defaultMetrics: true,
    ...(flags.base === undefined ? {} : { baseLimit: flags.base }),
    ...(flags.min === undefined ? {} : { minLimit: flags.min }),
    ...(flags.max === undefined ? {} : { maxLimit: flags.max }),
  };
}

/**
 * Builds what the flags describe. An InvalidConfigError — e.g. `--base 8 --max 2` — becomes a
 * UsageError that names the flags, not the options.
 */
export function fromFlags<T>(create: () => T): T {
  try {
    return create();
  } catch (error) {
    if (error instanceof InvalidConfigError && error.issues.length > 0) {
      const text = error.issues.map(
        (i) => `${FLAG_OF[i.field] ?? i.field} must be ${i.expected}, got ${String(i.value)}`,
      );
      throw new UsageError(text.join('; '));
    }
    throw error;
  }
}
