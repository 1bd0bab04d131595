/**
 * The families of the scheduler: tenants' service and resources' units. Their labels are
 * bounded by configuration: `tenant` takes the listed tenants, `default` and `other`;
 * `resource` the declared resources.
 * @internal
 * @module
 */
import { FamilyMetric, type Sample } from './family-metric.js';
import type { GaugeSnapshot } from './metrics.js';

/** What these families read of one orchestrator. */
interface SchedulingSource {
  readonly tenantStarts: ReadonlyMap<string, number>;
  snapshot(): GaugeSnapshot;
}

type Labeller<S> = (source: S, labels: Record<string, string>) => Record<string, string>;

/** The scheduler's families under `prefix`, reading every source in `sources` at scrape time. */
export function schedulingFamilies<S extends SchedulingSource>(
  prefix: string,
  sources: ReadonlySet<S>,
  labelled: Labeller<S>,
): FamilyMetric[] {
  /** A gauge with one sample per row the snapshot gives: a tenant label, or a resource. */
  const gauge = (
    name: string,
    help: string,
    rows: (snapshot: GaugeSnapshot) => [Record<string, string>, number][],
  ): FamilyMetric =>
    new FamilyMetric(`${prefix}${name}`, help, 'gauge', () => {
      const samples: Sample[] = [];
      for (const source of sources) {
        for (const [labels, value] of rows(source.snapshot()))
          samples.push({ labels: labelled(source, labels), value });
      }
      return samples;
    });
  const perTenant = (name: string, help: string, pick: 'running' | 'waiting'): FamilyMetric =>
    gauge(name, help, (s) => (s.tenants ?? []).map((t) => [{ tenant: t.label }, t[pick]]));
  const perResource = (name: string, help: string, pick: 'inUse' | 'limit' | 'waitSeconds'): FamilyMetric =>
    gauge(name, help, (s) => (s.resources ?? []).map((r) => [{ resource: r.name }, r[pick]]));
  const starts = new FamilyMetric(
    `${prefix}tenant_starts_total`,
    'Runs (or map batches) started on a thread, by tenant: the service each tenant gets.',
    'counter',
    () => {
      const samples: Sample[] = [];
      for (const source of sources) {
        for (const [tenant, value] of source.tenantStarts)
          samples.push({ labels: labelled(source, { tenant }), value });
      }
      return samples;
    },
  );
  return [
    perTenant('tenant_queue_depth', 'Runs of the tenant submitted and not started yet.', 'waiting'),
    perTenant('tenant_running', 'Runs of the tenant running on a thread now.', 'running'),
    starts,
    perResource('resource_units_in_use', 'Units of the resource held by running tasks.', 'inUse'),
    perResource(
      'resource_limit',
      'Units of the resource that may be held at once (adaptation may set it below the units declared).',
      'limit',
    ),
    perResource(
      'resource_wait_seconds',
      'Longest current wait of a run that needs the resource, in seconds (0 when none waits).',
      'waitSeconds',
    ),
  ];
}
