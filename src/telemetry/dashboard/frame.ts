/**
 * Builds the dashboard's frames: one per registry reading, with what changed since the previous
 * reading of the same stream.
 * @internal
 * @module
 */
import { counterDelta, histogramDelta, mergeHistograms, summarize } from './quantile.js';
import {
  seriesKey,
  type LabelledGauges,
  type OrchestratorReading,
  type Reading,
  type SeriesReading,
} from './reading.js';
import type { BreakdownRow, DashboardFrame, LimitChange, OrchestratorFrame, TaskStats } from './schema.js';
import { taskMetricFrames } from './task-metrics.js';

/** Which orchestrator a frame shows: by `orchestrator` label (`''` for an unnamed one) and prefix. */
export interface Selector {
  orchestrator?: string | undefined;
  prefix?: string | undefined;
}

/**
 * Builds a frame from a reading and, for the window, the previous reading of the same stream.
 * @internal
 */
export function buildFrame(
  current: Reading,
  previous: Reading | undefined,
  selector: Selector,
): DashboardFrame {
  const chosen = current.orchestrators.find(
    (o) =>
      (selector.prefix === undefined || o.prefix === selector.prefix) &&
      (selector.orchestrator === undefined || (o.name ?? '') === selector.orchestrator),
  );
  const before =
    chosen && previous?.orchestrators.find((o) => o.prefix === chosen.prefix && o.name === chosen.name);
  return {
    v: 1,
    time: current.time,
    seconds: previous === undefined ? null : (current.time - previous.time) / 1000,
    orchestrators: current.orchestrators.map(({ prefix, name }) => ({ prefix, name })),
    orchestrator:
      chosen === undefined ? null : orchestratorFrame(chosen, previous === undefined ? null : before),
  };
}

/**
 * @param previous - the same orchestrator in the previous reading; `undefined` when it was not
 *   there yet (everything it holds is new), `null` when there was no previous reading.
 */
function orchestratorFrame(
  current: OrchestratorReading,
  previous: OrchestratorReading | undefined | null,
): OrchestratorFrame {
  const all = [...current.series.values()];
  const deltas =
    previous === null
      ? null
      : all.map((series) => seriesDelta(series, previous?.series.get(seriesKey(series.labels))));
  const limitChanges = [...current.limitChanges.entries()];
  const changes = (base: OrchestratorReading | undefined): LimitChange[] => {
    const counts = counterDelta(
      Object.fromEntries(limitChanges.map(([key, change]) => [key, change.count])),
      base && Object.fromEntries([...base.limitChanges].map(([key, change]) => [key, change.count])),
    );
    return limitChanges
      .map(([key, { direction, reason }]) => ({ direction, reason, count: counts[key] ?? 0 }))
      .filter((change) => change.count > 0);
  };
  const g = current.gauges;
  return {
    prefix: current.prefix,
    name: current.name,
    limit: g.limit ?? null,
    minLimit: g.minLimit ?? null,
    inFlight: g.inFlight ?? null,
    queued: g.queued ?? null,
    threads: g.threads ?? null,
    cpuLoad: g.cpuLoad ?? null,
    gpuUtilization: g.gpuUtilization ?? null,
    gpuWaitSeconds: g.gpuWaitSeconds ?? null,
    errorRate: g.errorRate ?? null,
    total: { ...stats(all), limitChanges: changes(undefined) },
    window:
      previous === null || deltas === null ? null : { ...stats(deltas), limitChanges: changes(previous) },
    breakdowns: breakdowns(all, deltas),
    taskMetrics: taskMetricFrames(current, previous),
    tenants: sortedByName(current.tenants).map(([name, g]) => ({
      name,
      running: g['running'] ?? null,
      waiting: g['waiting'] ?? null,
    })),
    resources: sortedByName(current.resources).map(([name, g]) => ({
      name,
      inUse: g['inUse'] ?? null,
      limit: g['limit'] ?? null,
      waitSeconds: g['waitSeconds'] ?? null,
    })),
  };
}

function sortedByName(gauges: LabelledGauges): [string, Record<string, number>][] {
  return [...gauges].sort(([a], [b]) => a.localeCompare(b));
}

function seriesDelta(current: SeriesReading, previous: SeriesReading | undefined): SeriesReading {
  return {
    labels: current.labels,
    outcomes: counterDelta(current.outcomes, previous?.outcomes),
    errors: counterDelta(current.errors, previous?.errors),
    duration: current.duration && histogramDelta(current.duration, previous?.duration),
    wait: current.wait && histogramDelta(current.wait, previous?.wait),
  };
}

function stats(series: readonly SeriesReading[]): TaskStats {
  const outcomes: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const s of series) {
    for (const [outcome, count] of Object.entries(s.outcomes))
      outcomes[outcome] = (outcomes[outcome] ?? 0) + count;
    for (const [type, count] of Object.entries(s.errors)) errors[type] = (errors[type] ?? 0) + count;
  }
  return {
    outcomes,
    errors,
    duration: summarize(mergeHistograms(series.flatMap((s) => (s.duration ? [s.duration] : [])))),
    wait: summarize(mergeHistograms(series.flatMap((s) => (s.wait ? [s.wait] : [])))),
  };
}

function breakdowns(
  all: readonly SeriesReading[],
  deltas: readonly SeriesReading[] | null,
): Record<string, BreakdownRow[]> {
  const labels = [...new Set(all.flatMap((series) => Object.keys(series.labels)))].sort();
  const result: Record<string, BreakdownRow[]> = {};
  for (const label of labels) {
    const keys = [...new Set(all.map((series) => series.labels[label]))]
      .filter((key) => key !== undefined)
      .sort();
    result[label] = keys.map((key) => {
      const pick = (list: readonly SeriesReading[]): SeriesReading[] =>
        list.filter((series) => series.labels[label] === key);
      return { key, total: stats(pick(all)), window: deltas === null ? null : stats(pick(deltas)) };
    });
  }
  return result;
}
