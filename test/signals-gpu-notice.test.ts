import { afterEach, describe, expect, it } from 'vitest';
import { runUntilExit } from './support/exit-fixture.js';
import { fakeGpu } from './support/fake-gpu.js';

const removals: (() => void)[] = [];
afterEach(() => removals.splice(0).forEach((remove) => remove()));

interface Report {
  events: { name: string; code: string; message: string }[];
  processWarnings: { code: string; message: string }[];
}

/** Runs test/fixtures/gpu-notice.mjs on a machine whose GPU has no utilization data. */
async function onNoGpu(mode: 'quiet' | 'fallback' | 'gpu-run'): Promise<{ report: Report; output: string }> {
  const gpu = fakeGpu('missing');
  removals.push(gpu.remove);
  const exit = await runUntilExit('gpu-notice.mjs', [mode], gpu.env);
  expect(exit.code, exit.output).toBe(0);
  const json = exit.output.split('\n').find((line) => line.startsWith('{'));
  return { report: JSON.parse(json!) as Report, output: exit.output };
}

describe('no GPU (#13)', () => {
  it('says nothing when no GPU rule is asked for, and warns once through the orchestrator when gpuUtilizationHigh is set', async () => {
    const { report, output } = await onNoGpu('quiet');
    expect(report.processWarnings).toEqual([]);
    expect(report.events).toEqual([
      {
        name: 'asking',
        code: 'ORCHESTRATOR_SIGNALS',
        message:
          'gpuUtilizationHigh is set, but the GPU signal is absent (no GPU with utilization data was found): the GPU-utilization rule is skipped',
      },
    ]);
    // Nothing else on stdout or stderr: no multi-line process warning.
    expect(output.trim().split('\n')).toHaveLength(1);
  });

  it('with GPU rules set and nobody listening, warns once as a process warning', async () => {
    const { report } = await onNoGpu('fallback');
    expect(report.events).toEqual([]);
    expect(report.processWarnings).toHaveLength(1);
    expect(report.processWarnings[0]).toMatchObject({ code: 'ORCHESTRATOR_SIGNALS' });
    expect(report.processWarnings[0]!.message).toMatch(
      /^gpuUtilizationHigh is set, but the GPU signal is absent/,
    );
  });

  it('counts a `gpu: true` run waiting for a slot as asking for the GPU rules', async () => {
    const { report } = await onNoGpu('gpu-run');
    expect(report.processWarnings).toEqual([]);
    expect(report.events).toHaveLength(1);
    expect(report.events[0]!.message).toMatch(
      /^runs marked gpu: true are waiting, but the GPU signal is absent/,
    );
  });
});
