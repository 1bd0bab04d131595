/**
 * Random calls for the task-metrics fixture (test/fixtures/metric-tasks.mjs) and a model of what
 * /metrics must then show, to hold the exposition against observation by observation.
 */
import { seriesKey } from './exposition.js';
import { seededRandom } from './random.js';

/** One `ctx.metrics` call, as the fixture's `record` task takes it: [method, name, value, labels]. */
export type MetricCall = [string, string, number, Record<string, string> | undefined];

const MODELS = ['gpt', 'bert', 'clip', undefined];
const KINDS = ['text', 'image', undefined];
/** Values whose sums stay exact in floating point, spread over every bucket (1, 10, 100, +Inf). */
const SIZES = [0.5, 1, 2, 10, 12.5, 100, 101, 4096];

/** `count` inputs of 0 to 4 random calls each: counter and gauge increments, histogram observations. */
export function randomCalls(seed: number, count: number): MetricCall[][] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  return Array.from({ length: count }, () =>
    Array.from({ length: Math.floor(random() * 5) }, (): MetricCall => {
      const which = random();
      if (which < 0.4) {
        const model = pick(MODELS);
        return ['inc', 'tokens_total', Math.floor(random() * 6), model === undefined ? undefined : { model }];
      }
      // Only increments on the gauge: with several threads, which `set` comes last is not defined.
      if (which < 0.6) return ['inc', 'queue_items', Math.floor(random() * 7) - 3, undefined];
      const kind = pick(KINDS);
      return ['observe', 'item_size_bytes', pick(SIZES), kind === undefined ? undefined : { kind }];
    }),
  );
}

/** What /metrics shows after `inputs` were recorded (under the default prefix, unnamed). */
export function expectedSamples(inputs: readonly MetricCall[][]): Map<string, number> {
  const samples = new Map<string, number>();
  const add = (key: string, value: number): void => {
    samples.set(key, (samples.get(key) ?? 0) + value);
  };
  const histograms = new Map<string, Record<string, string>>();
  for (const calls of inputs) {
    for (const [, name, value, labels] of calls) {
      const full = `orchestrator_${name}`;
      if (name !== 'item_size_bytes') {
        add(seriesKey(full, labels), value);
        continue;
      }
      histograms.set(JSON.stringify(labels ?? {}), labels ?? {});
      for (const le of ['1', '10', '100', '+Inf']) {
        if (le === '+Inf' || value <= Number(le)) add(seriesKey(`${full}_bucket`, { ...labels, le }), 1);
      }
      add(seriesKey(`${full}_sum`, labels), value);
      add(seriesKey(`${full}_count`, labels), 1);
    }
  }
  // Every bucket of a histogram series is exported, the empty ones too.
  for (const labels of histograms.values()) {
    for (const le of ['1', '10', '100', '+Inf']) {
      const key = seriesKey('orchestrator_item_size_bytes_bucket', { ...labels, le });
      if (!samples.has(key)) samples.set(key, 0);
    }
  }
  return samples;
}

/** The task metrics the fixture exports, by name prefix (to pick them out of /metrics). */
export const FIXTURE_METRICS = [
  'orchestrator_tokens_total',
  'orchestrator_queue_items',
  'orchestrator_item_size_bytes',
  'orchestrator_requests_total',
];
