import { describe, expect, it } from 'vitest';
import { createGradientController, thresholdController, type Controller } from 'node-orchestrator';
import {
  bestStatic,
  meanThroughput,
  modelConfig,
  simulate,
  type Scenario,
  type Step,
} from './support/simulation.js';

const config = modelConfig();
const controllers: [string, () => Controller][] = [
  ['threshold', () => thresholdController],
  ['gradient', () => createGradientController({ seed: 42 })],
];

/** A CPU-bound pool, demand above its capacity (a backlog always waits). */
const cpu = (capacity: (k: number) => number, intervals: number): Scenario => ({
  service: { kind: 'cpu', capacity, serviceMs: 10 },
  demandPerSec: () => 2400, // 1.5 × what 16 cores at 10 ms serve
  intervals,
});

/** Intervals in [from, to) whose decision was not a baseline probe. */
const steady = (steps: readonly Step[], from: number, to = steps.length): Step[] =>
  steps.slice(from, to).filter((s, i, all) => s.reason !== 'probe' && all[i - 1]?.reason !== 'probe');

describe.each(controllers)('%s controller on the model', (_name, make) => {
  it('reaches 90% of the best static throughput within 10 intervals from a cold start', () => {
    const scenario = cpu(() => 16, 40);
    const steps = simulate(scenario, make(), config, 1);
    const best = bestStatic(scenario, config, 10, 40);
    const reached = steps.findIndex((s) => s.throughput >= 0.9 * best);
    expect(reached).toBeGreaterThanOrEqual(0);
    expect(reached).toBeLessThanOrEqual(10);
  });

  it('recovers 90% of the best static throughput within 10 intervals after capacity steps 16 → 8 → 16', () => {
    const capacity = (k: number): number => (k >= 40 && k < 80 ? 8 : 16);
    const scenario = cpu(capacity, 120);
    const steps = simulate(scenario, make(), config, 4);
    for (const stepAt of [40, 80]) {
      const best = bestStatic(
        { ...scenario, service: { ...scenario.service, capacity: () => capacity(stepAt) } },
        config,
        0,
        40,
      );
      const window = steps.slice(stepAt, stepAt + 10);
      expect(window.some((s) => s.throughput >= 0.9 * best)).toBe(true);
      const after = steady(steps, stepAt + 10, stepAt + 40);
      expect(meanThroughput(after, 0)).toBeGreaterThanOrEqual(0.9 * best);
    }
  });

  it('reacts to an error burst within one interval', () => {
    const scenario: Scenario = {
      service: {
        kind: 'io',
        capacity: () => 32,
        serviceMs: 20,
        injectedErrors: (k) => (k >= 30 && k < 33 ? 0.6 : 0),
      },
      demandPerSec: () => 2000,
      intervals: 40,
    };
    const steps = simulate(scenario, make(), config, 8);
    expect(steps[30]!.reason).toBe('error-rate');
    expect(steps[31]!.limit).toBeLessThan(steps[30]!.limit);
  });

  it('holds steady without drift: after 30 virtual minutes the limit is within [C, 1.5C + √(1.5C)], swinging at most one step', () => {
    const C = 16;
    const steps = simulate(
      cpu(() => C, 360),
      make(),
      config,
      4,
    );
    const tail = steady(steps, 300);
    const limits = tail.map((s) => s.limit);
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(C);
    expect(Math.max(...limits)).toBeLessThanOrEqual(1.5 * C + Math.sqrt(1.5 * C));
    expect(Math.max(...limits) - Math.min(...limits)).toBeLessThanOrEqual(config.increaseStep);
  });

  it('does not grow the limit when demand stays below it', () => {
    const scenario: Scenario = {
      service: { kind: 'cpu', capacity: () => 16, serviceMs: 10 },
      demandPerSec: () => 600, // needs 6 of the 12 slots
      intervals: 100,
    };
    const steps = simulate(scenario, make(), config, 12);
    const limits = steady(steps, 0).map((s) => s.limit);
    expect(Math.max(...limits)).toBeLessThanOrEqual(12);
  });
});

describe('the model itself', () => {
  it('peaks at the capacity for a fixed limit, and a fixed limit past it only adds latency', () => {
    const scenario = cpu(() => 8, 20);
    const at4 = simulate(scenario, 4, config);
    const at8 = simulate(scenario, 8, config);
    const at16 = simulate(scenario, 16, config);
    expect(meanThroughput(at8, 5)).toBeCloseTo(800, 0);
    expect(meanThroughput(at4, 5)).toBeCloseTo(400, 0);
    expect(meanThroughput(at16, 5)).toBeCloseTo(800, 0);
    expect(at16[10]!.latencyMs).toBeCloseTo(2 * at8[10]!.latencyMs, 5);
  });
});
