/**
 * V8's parallel GC helpers against a pool that keeps the cores busy: the example service's
 * /hash task (SHA-256 5,000 times, which allocates a Hash object and a Buffer per round) on
 * node-orchestrator and on bare Piscina, each in a process of its own started with and without
 * `--single-threaded-gc`. The flag is process-wide, so a library cannot set it for its threads;
 * the README's tuning advice rests on these figures.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median } from './support/compare.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/gc-pool.mjs', import.meta.url));
const ENGINES = ['ours', 'piscina'] as const;
const FLAGS = { default: [], 'single-threaded GC': ['--single-threaded-gc'] } as const;
type Engine = (typeof ENGINES)[number];
type Flags = keyof typeof FLAGS;

/** One engine with one set of flags: medians over the rounds, and the ratio to its default. */
export interface GcRow {
  engine: 'node-orchestrator' | 'bare Piscina';
  flags: Flags;
  perSecond: number;
  cpuMsPerTask: number;
  /** Median over the rounds of this row's rate ÷ the same engine's default rate in that round. */
  ratioToDefault: number;
  /** The lowest and highest of those per-round ratios. */
  range: [number, number];
}

async function measure(
  engine: Engine,
  flags: Flags,
  tasks: number,
): Promise<{ perSecond: number; cpuMsPerTask: number }> {
  const { stdout } = await run(process.execPath, [...FLAGS[flags], FIXTURE, engine, String(tasks), '32']);
  return JSON.parse(stdout) as { perSecond: number; cpuMsPerTask: number };
}

/** `rounds` rounds of every engine × flags (order alternating), `tasks` hashes each. */
export async function benchGcThreads(rounds = 9, tasks = 400): Promise<GcRow[]> {
  const samples = new Map<string, { perSecond: number; cpuMsPerTask: number }[]>();
  const cells = ENGINES.flatMap((engine) =>
    (Object.keys(FLAGS) as Flags[]).map((flags) => ({ engine, flags })),
  );
  for (let round = 0; round < rounds; round++) {
    for (const { engine, flags } of round % 2 === 0 ? cells : [...cells].reverse()) {
      const key = `${engine}|${flags}`;
      samples.set(key, [...(samples.get(key) ?? []), await measure(engine, flags, tasks)]);
    }
  }
  return cells.map(({ engine, flags }) => {
    const list = samples.get(`${engine}|${flags}`)!;
    const base = samples.get(`${engine}|default`)!;
    const ratios = list.map((sample, round) => sample.perSecond / base[round]!.perSecond);
    return {
      engine: engine === 'ours' ? 'node-orchestrator' : 'bare Piscina',
      flags,
      perSecond: median(list.map((s) => s.perSecond)),
      cpuMsPerTask: median(list.map((s) => s.cpuMsPerTask)),
      ratioToDefault: median(ratios),
      range: [Math.min(...ratios), Math.max(...ratios)],
    };
  });
}

/** The report's table. */
export function gcThreadsMarkdown(rows: readonly GcRow[]): string {
  const lines = rows.map(
    (row) =>
      `| ${row.engine} | ${row.flags} | ${row.perSecond.toFixed(1)} | ${row.ratioToDefault.toFixed(2)} (${row.range[0].toFixed(2)}–${row.range[1].toFixed(2)}) | ${row.cpuMsPerTask.toFixed(2)} |`,
  );
  return [
    "### V8 GC helpers: the /hash task at each engine's defaults, with and without `--single-threaded-gc`",
    '',
    '| engine | V8 flags | hashes/s | ratio to default (per round: median, range) | CPU ms per hash (all threads) |',
    '| --- | --- | --- | --- | --- |',
    ...lines,
  ].join('\n');
}
