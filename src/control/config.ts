import type { ConfigIssue } from '../errors.js';
import type { Controller } from './controller.js';

/** The adaptive-control options of an Orchestrator (the limits live with the execution options). */
export interface AdaptiveOptions {
  /** Resize the limit automatically every `adaptationIntervalMs`. @default true */
  adaptive?: boolean | undefined;
  /** How often to sample and decide, in ms. @default 5000 */
  adaptationIntervalMs?: number | undefined;
  /** How much a growth rule adds. @default 2 */
  increaseStep?: number | undefined;
  /** How much a decrease rule takes away (threshold controller). @default 2 */
  decreaseStep?: number | undefined;
  /** Grow when more runs than this wait for a slot. @default 50 */
  queueHighWatermark?: number | undefined;
  /** Shrink when a `gpu` run has waited longer than this, in seconds. @default 5 */
  gpuWaitHigh?: number | undefined;
  /** Shrink when the failed share of recent outcomes exceeds this ratio. @default 0.3 */
  errorRateHigh?: number | undefined;
  /** Shrink when machine CPU load exceeds this ratio while the limit exceeds the cores. @default 0.95 */
  cpuLoadHigh?: number | undefined;
  /** Shrink when GPU utilization exceeds this ratio. @default 0.9 */
  gpuUtilizationHigh?: number | undefined;
  /** Outcomes in the error-rate window. @default 100 */
  errorWindow?: number | undefined;
  /** Outcomes needed before the error-rate rule may fire. @default 20 */
  errorMinSamples?: number | undefined;
  /** `'threshold'`, `'gradient'`, or an object implementing {@link Controller}. @default 'threshold' */
  controller?: 'threshold' | 'gradient' | Controller | undefined;
}

/** Adaptive settings after defaults and validation. */
export interface AdaptiveConfig {
  readonly adaptive: boolean;
  readonly adaptationIntervalMs: number;
  readonly increaseStep: number;
  readonly decreaseStep: number;
  readonly queueHighWatermark: number;
  readonly gpuWaitHigh: number;
  readonly errorRateHigh: number;
  readonly cpuLoadHigh: number;
  readonly gpuUtilizationHigh: number;
  readonly errorWindow: number;
  readonly errorMinSamples: number;
  readonly controller: 'threshold' | 'gradient' | Controller;
  readonly minLimit: number;
  readonly maxLimit: number;
}

/** The defaults of {@link AdaptiveOptions}. */
export const ADAPTIVE_DEFAULTS = {
  adaptive: true,
  adaptationIntervalMs: 5000,
  increaseStep: 2,
  decreaseStep: 2,
  queueHighWatermark: 50,
  gpuWaitHigh: 5,
  errorRateHigh: 0.3,
  cpuLoadHigh: 0.95,
  gpuUtilizationHigh: 0.9,
  errorWindow: 100,
  errorMinSamples: 20,
  controller: 'threshold',
} as const;

type Check = (value: unknown) => boolean;
const integerAtLeast =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min;
const ratio: Check = (v) => typeof v === 'number' && v > 0 && v <= 1;
const nonNegative: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

const RULES: readonly [keyof AdaptiveOptions, Check, string][] = [
  ['adaptationIntervalMs', integerAtLeast(1), 'an integer >= 1'],
  ['increaseStep', integerAtLeast(1), 'an integer >= 1'],
  ['decreaseStep', integerAtLeast(1), 'an integer >= 1'],
  ['queueHighWatermark', integerAtLeast(0), 'an integer >= 0'],
  ['gpuWaitHigh', nonNegative, 'a finite number >= 0'],
  ['errorRateHigh', ratio, 'a ratio in (0, 1]'],
  ['cpuLoadHigh', ratio, 'a ratio in (0, 1]'],
  ['gpuUtilizationHigh', ratio, 'a ratio in (0, 1]'],
  ['errorWindow', integerAtLeast(1), 'an integer >= 1'],
  ['errorMinSamples', integerAtLeast(1), 'an integer >= 1'],
];

/**
 * Applies the defaults and checks every adaptive option, adding one issue per bad field to
 * `issues` (the caller throws them all at once). Never clamps silently.
 * @internal
 */
export function resolveAdaptive(
  options: AdaptiveOptions,
  limits: { minLimit: number; maxLimit: number },
  issues: ConfigIssue[],
): AdaptiveConfig {
  const merged = { ...ADAPTIVE_DEFAULTS, ...definedOnly(options) };
  for (const [field, check, expected] of RULES) {
    if (!check(merged[field])) issues.push({ field, value: merged[field], expected });
  }
  if (typeof merged.adaptive !== 'boolean')
    issues.push({ field: 'adaptive', value: merged.adaptive, expected: 'a boolean' });
  if (merged.errorMinSamples > merged.errorWindow && issues.every((i) => !i.field.startsWith('error'))) {
    issues.push({
      field: 'errorMinSamples',
      value: merged.errorMinSamples,
      expected: `<= errorWindow (${merged.errorWindow})`,
    });
  }
  const controller: unknown = merged.controller;
  const isObject =
    typeof controller === 'object' &&
    controller !== null &&
    typeof (controller as Controller).decide === 'function';
  if (controller !== 'threshold' && controller !== 'gradient' && !isObject) {
    issues.push({
      field: 'controller',
      value: controller,
      expected: "'threshold', 'gradient' or an object with decide(sample, config)",
    });
  }
  return { ...merged, ...limits };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
