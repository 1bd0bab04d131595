/**
 * Side-by-side comparison on tinybench: every contender runs in the same process, in the same
 * rounds, with the order alternated between rounds, and we keep the median of the rounds.
 */
import { Bench } from 'tinybench';

/** One contender: `run` performs `itemsPerOp` items of work per call. */
export interface Contender {
  name: string;
  run: () => unknown;
  setup?: () => Promise<void> | void;
  teardown?: () => Promise<void> | void;
}

/** The medians of one comparison, in items per second, and each contender's ratio to the baseline. */
export interface ComparisonResult {
  title: string;
  itemsPerOp: number;
  rounds: number;
  rows: { name: string; itemsPerSecond: number; ratio: number; perRound: number[] }[];
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Percentile (0..100) of a list, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Runs the contenders side by side for `rounds` rounds (alternating the order each round) and
 * reports median items/s; the first contender is the baseline of the ratios.
 */
export async function compare(
  title: string,
  contenders: readonly Contender[],
  options: { itemsPerOp: number; rounds?: number; timeMs?: number; warmupMs?: number },
): Promise<ComparisonResult> {
  const { itemsPerOp, rounds = 5, timeMs = 400, warmupMs = 100 } = options;
  const perRound = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  // Progress on stderr: a long suite should show where it is.
  process.stderr.write(`  ${title}\n`);
  for (const contender of contenders) await contender.setup?.();
  try {
    for (let round = 0; round < rounds; round++) {
      const ordered = round % 2 === 0 ? contenders : [...contenders].reverse();
      const bench = new Bench({ time: timeMs, warmupTime: warmupMs, warmup: true, iterations: 3 });
      // `async: true`: left to guess, tinybench calls a function that is not an AsyncFunction once,
      // unawaited, to see whether it returns a promise: an extra run overlapping the measured ones.
      for (const contender of ordered) bench.add(contender.name, contender.run, { async: true });
      const started = performance.now();
      await bench.run();
      process.stderr.write(
        `    round ${round + 1}/${rounds}: ${Math.round(performance.now() - started)} ms\n`,
      );
      for (const task of bench.tasks) {
        const result = task.result;
        if (result.state !== 'completed') throw new Error(`${task.name} did not complete: ${result.state}`);
        perRound.get(task.name)!.push((1000 / result.latency.mean) * itemsPerOp);
      }
    }
  } finally {
    for (const contender of contenders) await contender.teardown?.();
  }
  const baseline = median(perRound.get(contenders[0]!.name)!);
  const rows = contenders.map((c) => {
    const values = perRound.get(c.name)!;
    const itemsPerSecond = median(values);
    return { name: c.name, itemsPerSecond, ratio: itemsPerSecond / baseline, perRound: values };
  });
  return { title, itemsPerOp, rounds, rows };
}

/** Renders a comparison as a Markdown table. */
export function toMarkdown(result: ComparisonResult): string {
  const lines = [
    `### ${result.title}`,
    '',
    `median of ${result.rounds} rounds, alternating order; ratio against ${result.rows[0]!.name}`,
    '',
    '| contender | items/s | ratio |',
    '| --- | ---: | ---: |',
    ...result.rows.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.itemsPerSecond).toLocaleString('en-US')} | ${r.ratio.toFixed(2)} |`,
    ),
  ];
  return lines.join('\n');
}
