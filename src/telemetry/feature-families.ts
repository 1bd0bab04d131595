/**
 * The metric families of the result cache and of pipeline stages. Like the others, they read
 * plain counters at scrape time: recording a hit or a stage's items costs a few increments.
 * @module
 */
import type { CacheStats } from '../cache/task-cache.js';
import { FamilyMetric, type MetricType, type Sample } from './family-metric.js';

/** Counts of one pipeline stage (by `stage` label), read at scrape time. */
export class StageStats {
  /** Items that reached the stage. */
  in = 0;
  /** Items the stage passed on (a batch stage passes one per batch; a filter, those it keeps). */
  out = 0;
  /** Items that failed in the stage. */
  failed = 0;
  /** Time spent in the stage, in seconds (worker time for map stages). */
  seconds = 0;
}

/** Distinct `stage` label values kept; later new stages count as `stage="other"`. */
const MAX_STAGE_LABELS = 64;

/**
 * The counters of the stage labelled `label` in `stages` (made on first use). Past
 * {@link MAX_STAGE_LABELS} labels, new stages share one `other` entry, so pipelines built at will
 * cannot grow the series without bound. Without telemetry (`stages` undefined), counters nobody reads.
 * @internal
 */
export function stageStatsFor(stages: Map<string, StageStats> | undefined, label: string): StageStats {
  if (stages === undefined) return new StageStats();
  let stats = stages.get(label);
  if (stats !== undefined) return stats;
  const key = stages.size < MAX_STAGE_LABELS ? label : 'other';
  stats = stages.get(key) ?? new StageStats();
  stages.set(key, stats);
  return stats;
}

interface FeatureSource {
  readonly caches: ReadonlyMap<string, CacheStats>;
  readonly stages: ReadonlyMap<string, StageStats>;
}

type Labels<S> = (source: S, own: Record<string, string>) => Record<string, string>;

function family<S extends FeatureSource, T>(
  name: string,
  help: string,
  type: MetricType,
  sources: ReadonlySet<S>,
  labels: Labels<S>,
  entries: (source: S) => ReadonlyMap<string, T>,
  label: string,
  value: (stats: T) => number,
): FamilyMetric {
  return new FamilyMetric(name, help, type, () => {
    const samples: Sample[] = [];
    for (const source of sources)
      for (const [key, stats] of entries(source))
        samples.push({ labels: labels(source, { [label]: key }), value: value(stats) });
    return samples;
  });
}

/** The cache families: hits, misses, deduplicated, evictions, bytes and entries, by task. */
export function cacheFamilies<S extends FeatureSource>(
  prefix: string,
  sources: ReadonlySet<S>,
  labels: Labels<S>,
): FamilyMetric[] {
  const cache = (name: string, help: string, type: MetricType, value: (s: CacheStats) => number) =>
    family(`${prefix}cache_${name}`, help, type, sources, labels, (s) => s.caches, 'task', value);
  return [
    cache('hits_total', 'Runs answered from the result cache.', 'counter', (s) => s.hits),
    cache(
      'misses_total',
      'Runs of a cached task that ran (their result may be kept).',
      'counter',
      (s) => s.misses,
    ),
    cache(
      'deduplicated_total',
      'Runs that joined an identical run already under way instead of running.',
      'counter',
      (s) => s.deduplicated,
    ),
    cache(
      'evictions_total',
      'Kept results dropped to stay within maxEntries or maxBytes.',
      'counter',
      (s) => s.evictions,
    ),
    cache('bytes', 'Estimated bytes of the kept results.', 'gauge', (s) => s.size().bytes),
    cache('entries', 'Kept results.', 'gauge', (s) => s.size().entries),
  ];
}

/** The pipeline stage families: items in, out and failed, and time, by stage. */
export function stageFamilies<S extends FeatureSource>(
  prefix: string,
  sources: ReadonlySet<S>,
  labels: Labels<S>,
): FamilyMetric[] {
  const stage = (name: string, help: string, value: (s: StageStats) => number) =>
    family(`${prefix}stage_${name}`, help, 'counter', sources, labels, (s) => s.stages, 'stage', value);
  return [
    stage('items_in_total', 'Items that reached a pipeline stage.', (s) => s.in),
    stage('items_out_total', 'Items a pipeline stage passed on.', (s) => s.out),
    stage('items_failed_total', 'Items that failed in a pipeline stage.', (s) => s.failed),
    stage(
      'seconds_total',
      'Time spent in a pipeline stage, in seconds (worker time for map stages).',
      (s) => s.seconds,
    ),
  ];
}
