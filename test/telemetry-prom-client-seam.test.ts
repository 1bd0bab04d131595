/**
 * Pins what src/telemetry/ relies on in prom-client beyond its documented API, so that a
 * prom-client upgrade that changes it fails here, by name, rather than in a scrape.
 */
import { createRequire } from 'node:module';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

describe('the prom-client seam (src/telemetry/families.ts, exposition.ts)', () => {
  it('runs on the prom-client major version the seam was written for', () => {
    const { version } = createRequire(import.meta.url)('prom-client/package.json') as { version: string };
    expect(version.split('.')[0]).toBe('15');
  });

  it('registerMetric takes any object with name and get(); getMetricsAsJSON renders its samples, metricName included', async () => {
    const registry = new Registry();
    const family = {
      name: 'seam_seconds',
      help: 'help',
      type: 'histogram',
      aggregator: 'sum',
      get: () => ({
        name: 'seam_seconds',
        help: 'help',
        type: 'histogram',
        aggregator: 'sum',
        values: [
          { labels: { le: 1 }, value: 3, metricName: 'seam_seconds_bucket' },
          { labels: {}, value: 2.5, metricName: 'seam_seconds_sum' },
        ],
      }),
    };
    registry.registerMetric(family as never);
    const [json] = await registry.getMetricsAsJSON();
    expect(json).toMatchObject({ name: 'seam_seconds', type: 'histogram' });
    expect(json?.values).toContainEqual({ labels: { le: 1 }, value: 3, metricName: 'seam_seconds_bucket' });
    expect(registry.getSingleMetric('seam_seconds')).toBe(family);
  });

  it("prom-client's own OpenMetrics rendering renames counters in place (why exposition.ts renders both formats itself)", async () => {
    const registry = new Registry();
    new Counter({ name: 'seam_events_total', help: 'help', registers: [registry] }).inc();
    const before = await registry.metrics();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    await registry.metrics();
    registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE);
    const after = await registry.metrics();
    expect(before).toContain('seam_events_total 1');
    expect(after).not.toEqual(before);
  });
});
