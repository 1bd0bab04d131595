import { describe, expect, it } from 'vitest';
import { Gauge, Registry } from 'prom-client';
import { ErrorRateWindow, RegistrySource, type SignalSource } from 'node-orchestrator';

describe('ErrorRateWindow', () => {
  it('is absent until minSamples outcomes, then the failed share of the last size outcomes', () => {
    const window = new ErrorRateWindow(4, 2);
    window.record(true);
    expect(window.rate).toBeUndefined();
    window.record(false);
    expect(window.rate).toBe(0.5);
    window.record(false);
    window.record(false);
    expect(window.rate).toBe(0.25);
    // The oldest (the failure) slides out.
    window.record(false);
    expect(window.rate).toBe(0);
    expect(window.count).toBe(4);
  });

  it('names a bad size', () => {
    expect(() => new ErrorRateWindow(0, 1)).toThrow(/size must be an integer >= 1, got 0/);
  });
});

describe('RegistrySource', () => {
  it('reads queue depth, GPU wait and error rate back by metric name, summing samples', async () => {
    const registry = new Registry();
    const depth = new Gauge({
      name: 'orchestrator_queue_depth',
      help: 'h',
      labelNames: ['shard'],
      registers: [registry],
    });
    depth.set({ shard: 'a' }, 30);
    depth.set({ shard: 'b' }, 12);
    new Gauge({ name: 'orchestrator_error_rate_ratio', help: 'h', registers: [registry] }).set(0.4);
    const source: SignalSource = new RegistrySource(registry);
    expect(await source.read()).toEqual({ queueDepth: 42, gpuWaitSeconds: undefined, errorRate: 0.4 });
  });

  it('takes other metric names', async () => {
    const registry = new Registry();
    new Gauge({ name: 'ingest_backlog', help: 'h', registers: [registry] }).set(7);
    const source = new RegistrySource(registry, { queueDepth: 'ingest_backlog' });
    expect((await source.read()).queueDepth).toBe(7);
  });
});
