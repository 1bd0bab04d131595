import { afterEach, describe, expect, it } from 'vitest';
import type { Orchestrator } from 'node-orchestrator';
import { runPipeline, type RecordSource } from '../src/cli/pipeline.js';
import type { InputLine } from '../src/cli/json-lines.js';
import { seededRandom } from './support/random.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';

afterEach(closeAll);

/** `n` lines of one kind: valid (`true`) or invalid JSON (`false`). */
const run = (valid: boolean, n: number): boolean[] => Array.from({ length: n }, () => valid);

/** Input lines from a pattern; a valid line's value is its line number. */
function inputOf(pattern: readonly boolean[]): InputLine[] {
  return pattern.map((valid, i) =>
    valid ? { line: i + 1, value: i + 1 } : { line: i + 1, error: `invalid JSON at ${i + 1}` },
  );
}

/**
 * Runs the pipeline over `input` with the `echo` task and reports the output records and the
 * most lines it had read ahead of what it had written: what it holds in memory.
 */
async function pipe(
  orchestrator: Orchestrator,
  input: readonly InputLine[],
  options: { ordered: boolean; heldBadLines?: number },
): Promise<{ out: { line: number; result?: number }[]; mostAhead: number }> {
  let pulled = 0;
  let mostAhead = 0;
  const lines = async function* (): AsyncGenerator<InputLine> {
    for (const line of input) {
      pulled++;
      // A stream's lines arrive asynchronously.
      yield await Promise.resolve(line);
    }
  };
  const out: { line: number; result?: number }[] = [];
  await runPipeline(
    // The built Orchestrator and the CLI's source-typed view of it are the same object.
    orchestrator as unknown as RecordSource,
    lines(),
    { tasks: ['echo'], batchSize: 64, signal: new AbortController().signal, ...options },
    {
      write: (text) => {
        out.push(JSON.parse(text) as { line: number; result?: number });
        mostAhead = Math.max(mostAhead, pulled - out.length);
        return Promise.resolve();
      },
      onError: () => undefined,
      onRecord: () => undefined,
    },
  );
  return { out, mostAhead };
}

describe('the CLI pipeline with invalid lines (#11 item 18)', () => {
  it.each([false, true])(
    'holds at most heldBadLines invalid lines beyond the records in flight, whatever the mix (ordered: %s)',
    async (ordered) => {
      const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
      // All invalid; and a valid line, a long run of invalid ones, another valid line, more invalid.
      const patterns = [
        run(false, 20_000),
        [...run(true, 1), ...run(false, 20_000), ...run(true, 1), ...run(false, 5000)],
      ];
      for (const pattern of patterns) {
        const { out, mostAhead } = await pipe(orchestrator, inputOf(pattern), { ordered });
        expect(out).toHaveLength(pattern.length);
        // Before: every invalid line was held until the next record, 20,000 of them.
        expect(mostAhead).toBeLessThanOrEqual(1024 + 2);
      }
    },
  );

  it.each([false, true])(
    'writes every line once, in line order with ordered, for random mixes (ordered: %s)',
    async (ordered) => {
      const orchestrator = createOrchestrator({ baseLimit: 2, maxLimit: 2 });
      const random = seededRandom(13);
      for (let round = 0; round < 12; round++) {
        const share = random();
        const pattern = Array.from({ length: 1 + Math.floor(random() * 300) }, () => random() >= share);
        const heldBadLines = 1 + Math.floor(random() * 8);
        const { out } = await pipe(orchestrator, inputOf(pattern), { ordered, heldBadLines });
        const lines = out.map((record) => record.line);
        const expected = pattern.map((_, i) => i + 1);
        if (ordered) expect(lines).toEqual(expected);
        else expect([...lines].sort((a, b) => a - b)).toEqual(expected);
        for (const record of out) {
          if (pattern[record.line - 1] === true) expect(record.result).toBe(record.line);
          else expect(record).toMatchObject({ error: { code: 'ERR_INVALID_JSON' } });
        }
      }
    },
  );
});
