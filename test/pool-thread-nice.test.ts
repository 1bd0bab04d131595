import { getPriority } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, Orchestrator } from 'node-orchestrator';
import { httpTasks } from './support/fastify.js';

const open: Orchestrator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((orchestrator) => orchestrator.close()));
});

async function prioritiesWith(threadNice: number | undefined): Promise<{ thread: number; main: number }> {
  const orchestrator = new Orchestrator({ worker: httpTasks, adaptive: false, baseLimit: 1, threadNice });
  open.push(orchestrator);
  return (await orchestrator.run('priority', undefined)) as { thread: number; main: number };
}

describe.runIf(process.platform === 'linux')('threadNice (Linux)', () => {
  const base = getPriority(process.pid);

  it('runs a pool thread threadNice steps below the process and leaves the main thread as it was', async () => {
    expect(await prioritiesWith(7)).toEqual({ thread: Math.min(19, base + 7), main: base });
    expect(getPriority(process.pid)).toBe(base);
  });

  it('caps the thread at nice 19, the lowest priority', async () => {
    expect(await prioritiesWith(19)).toEqual({ thread: 19, main: base });
  });

  it('leaves threads at the process priority by default', async () => {
    expect(await prioritiesWith(undefined)).toEqual({ thread: base, main: base });
  });
});

describe('threadNice validation', () => {
  it.each([-1, 20, 2.5, Infinity, '5', null])('rejects %s, naming the field and the value', (value) => {
    let caught: unknown;
    try {
      new Orchestrator({ worker: httpTasks, threadNice: value as number });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidConfigError);
    expect((caught as InvalidConfigError).issues).toEqual([
      { field: 'threadNice', value, expected: 'an integer in [0, 19]' },
    ]);
  });
});
