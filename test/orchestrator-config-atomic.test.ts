import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, Orchestrator, type OrchestratorOptions } from 'node-orchestrator';
import { closeAll, createOrchestrator, fixtureWorker } from './support/orchestrator.js';

afterEach(closeAll);

/** The error `new Orchestrator(options)` throws (the test fails if it throws nothing). */
function constructionError(options: Partial<OrchestratorOptions>): unknown {
  try {
    const orchestrator = new Orchestrator({
      worker: fixtureWorker,
      adaptive: false,
      ...options,
    } as OrchestratorOptions);
    void orchestrator.close();
  } catch (error) {
    return error;
  }
  throw new Error(`new Orchestrator(${JSON.stringify(options)}) did not throw`);
}

/** The fields an InvalidConfigError names, each cut to its top-level option name. */
function badFields(error: unknown): string[] {
  expect(error).toBeInstanceOf(InvalidConfigError);
  const fields = (error as InvalidConfigError).issues.map((issue) => issue.field.split(/[.[]/)[0] ?? '');
  return [...new Set(fields)].sort();
}

describe('options are validated before anything is built (#11.3)', () => {
  it('#11.3 a bad systemSampler and a bad signals option are one InvalidConfigError that names both', () => {
    const error = constructionError({
      systemSampler: { intervalMs: 0 },
      signals: [{} as never],
    });
    expect(badFields(error)).toEqual(['signals', 'systemSampler']);
    expect((error as Error).message).toMatch(/systemSampler/);
    expect((error as Error).message).toMatch(/signals/);
  });

  it('#11.3 a constructor that fails on a bad systemSampler leaves no metric behind: the registry takes the next orchestrator', async () => {
    const registry = new Registry();
    constructionError({ registry, systemSampler: { intervalMs: 0 } });
    expect(registry.getMetricsAsArray().map((metric) => metric.name)).toEqual([]);
    const next = createOrchestrator({ registry });
    await expect(next.run('echo', 'served')).resolves.toBe('served');
  });

  it('#11.3 resourceLimits that are not an object are an InvalidConfigError naming resourceLimits', () => {
    expect(badFields(constructionError({ resourceLimits: 0 as never }))).toEqual(['resourceLimits']);
  });

  it('#11.3 negative resourceLimits sizes are an InvalidConfigError naming the field, not a crash of every run', () => {
    const error = constructionError({ resourceLimits: { maxOldGenerationSizeMb: -1, stackSizeMb: -4 } });
    expect(badFields(error)).toEqual(['resourceLimits']);
    const fields = (error as InvalidConfigError).issues.map((issue) => issue.field).join(' ');
    expect(fields).toMatch(/maxOldGenerationSizeMb/);
    expect(fields).toMatch(/stackSizeMb/);
  });

  it('#11.3 every bad field is named in the one error, whatever part of the orchestrator it configures', () => {
    const registry = new Registry();
    const error = constructionError({
      registry,
      baseLimit: 0,
      systemSampler: { intervalMs: 0 },
      signals: [{} as never],
      resourceLimits: { maxOldGenerationSizeMb: -1 },
    });
    expect(badFields(error)).toEqual(['baseLimit', 'resourceLimits', 'signals', 'systemSampler']);
    expect(registry.getMetricsAsArray().map((metric) => metric.name)).toEqual([]);
  });
});
