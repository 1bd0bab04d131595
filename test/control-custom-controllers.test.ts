import { afterEach, describe, expect, it } from 'vitest';
import type { Controller, OrchestratorWarning } from 'node-orchestrator';
import { runUntilExit } from './support/exit-fixture.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

/** An orchestrator with adaptation by hand only, and no sampler. */
const withController = (controller: Controller) =>
  createOrchestrator({
    adaptive: true,
    controller,
    baseLimit: 2,
    minLimit: 1,
    maxLimit: 4,
    adaptationIntervalMs: 3_600_000,
    systemSampler: false,
  });

describe('a custom controller that misbehaves (#11 item 15)', () => {
  it.each(['nan', 'infinity', 'string', 'none', 'throw'])(
    'answering %s on the timer: one warning, the limit held, the process alive',
    async (mode) => {
      const exit = await runUntilExit('controller-faults.mjs', [mode]);
      expect(exit.code, exit.output).toBe(0);
      const report = JSON.parse(exit.output.split('\n').find((line) => line.startsWith('{'))!) as {
        limit: number;
        warnings: { code: string; message: string }[];
      };
      expect(report.limit).toBe(2);
      expect(report.warnings).toHaveLength(1);
      expect(report.warnings[0]!.code).toBe('ORCHESTRATOR_CONTROLLER');
      expect(report.warnings[0]!.message).toMatch(/^The "faulty" controller .*; the limit holds at 2$/);
    },
  );

  it('names what it answered: a non-finite or non-number limit, or no decision at all', async () => {
    const answers: unknown[] = [{ limit: Number.NaN, reason: 'x' }, { limit: '7' }, null];
    const messages: string[] = [];
    for (const answer of answers) {
      const orchestrator = withController({ name: 'odd', decide: () => answer as never });
      orchestrator.on('warning', (warning: OrchestratorWarning) => messages.push(warning.message));
      await expect(orchestrator.adapt()).resolves.toBeUndefined();
      expect(orchestrator.limit).toBe(2);
    }
    expect(messages).toEqual([
      'The "odd" controller answered limit NaN (expected { limit: a finite number, reason }); the limit holds at 2',
      'The "odd" controller answered limit "7" (expected { limit: a finite number, reason }); the limit holds at 2',
      'The "odd" controller answered null (expected { limit: a finite number, reason }); the limit holds at 2',
    ]);
  });
});

describe('reasons of custom controllers as metric labels (#11 item 16)', () => {
  it('keeps the built-in reasons and the first 8 custom ones; the rest are "other"', async () => {
    let k = 0;
    const reasons = [
      'latency',
      ...Array.from({ length: 12 }, (_, i) => `custom-${i}`),
      'custom-0',
      42,
      'x'.repeat(65),
    ];
    const orchestrator = withController({
      name: 'chatty',
      // Every step changes the limit, so every step is recorded.
      decide: (sample) => ({ limit: sample.limit === 2 ? 3 : 2, reason: reasons[k++] as string }),
    });
    const seen: string[] = [];
    for (let i = 0; i < reasons.length; i++) seen.push((await orchestrator.adapt())!.reason);
    const custom = Array.from({ length: 8 }, (_, i) => `custom-${i}`);
    expect(seen).toEqual([
      'latency',
      ...custom,
      'other',
      'other',
      'other',
      'other',
      'custom-0',
      'other',
      'other',
    ]);
    const body = await orchestrator.registry!.metrics();
    const labels = new Set(
      body
        .split('\n')
        .filter((line) => line.startsWith('orchestrator_limit_changes_total{'))
        .map((line) => /reason="([^"]*)"/.exec(line)![1]),
    );
    expect(labels).toEqual(new Set(['latency', ...custom, 'other']));
  });
});
