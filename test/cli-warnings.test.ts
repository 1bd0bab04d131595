import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestratorWarning } from 'node-orchestrator';
import { warningLine } from '../src/cli/report.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

describe('the CLI prints an orchestrator warning', () => {
  it('as one stderr line, even when the message spans lines (#13)', async () => {
    const orchestrator = createOrchestrator({
      adaptive: true,
      adaptationIntervalMs: 3_600_000,
      systemSampler: false,
      controller: {
        name: 'broken',
        decide: () => {
          throw new Error('first line\n    second line');
        },
      },
    });
    const warned = once(orchestrator, 'warning') as Promise<[OrchestratorWarning]>;
    await orchestrator.adapt();
    const [warning] = await warned;
    expect(warning.message).toContain('\n');
    expect(warningLine(warning)).toBe(
      `orchestrator: warning: The "broken" controller threw Error: first line second line; the limit holds at ${orchestrator.limit}\n`,
    );
  });
});
