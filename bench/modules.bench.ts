/**
 * What a worker module costs each thread, for orchestrators with several modules (`workers`):
 * every thread loads every module once, before its first task. For each set of the shipped
 * modules this measures a thread's heap after a full collection, the process's RSS growth for
 * the one thread, and the first task's latency (thread start plus the imports), median of rounds.
 * The difference from the probe alone is what a module adds per thread, and what loading it
 * lazily (on its first task) would save in a thread that never runs its tasks.
 */
import { Orchestrator } from 'node-orchestrator';
import { median } from './support/compare.js';

const probe = new URL('./fixtures/probe.mjs', import.meta.url);
const text = new URL('../../dist/workers/text.js', import.meta.url);
const image = new URL('../../dist/workers/image.js', import.meta.url);

/** One set of modules, measured. */
export interface ModulesRow {
  modules: string;
  heapMiB: number;
  rssMiB: number;
  firstTaskMs: number;
}

const SETS: readonly [string, Record<string, URL>][] = [
  ['(probe only)', {}],
  ['image', { image }],
  ['text', { text }],
  ['text + image', { text, image }],
];

async function measure(modules: Record<string, URL>): Promise<Omit<ModulesRow, 'modules'>> {
  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const orchestrator = new Orchestrator({
    workers: { probe, ...modules },
    baseLimit: 1,
    minLimit: 1,
    maxLimit: 1,
    adaptive: false,
    telemetry: false,
  });
  try {
    const heap = (await orchestrator.run('probe.heap', null)) as number;
    const firstTaskMs = performance.now() - started;
    globalThis.gc?.();
    const rssMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    return { heapMiB: heap / 2 ** 20, rssMiB, firstTaskMs };
  } finally {
    await orchestrator.close();
  }
}

/** Measures every set `rounds` times, alternating the order, and keeps the medians. */
export async function benchModules(rounds = 5): Promise<ModulesRow[]> {
  const samples = new Map(SETS.map(([name]) => [name, [] as Omit<ModulesRow, 'modules'>[]]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? SETS : [...SETS].reverse();
    for (const [name, modules] of order) samples.get(name)!.push(await measure(modules));
    process.stderr.write(`    round ${round + 1}/${rounds}\n`);
  }
  return SETS.map(([name]) => {
    const rows = samples.get(name)!;
    return {
      modules: name,
      heapMiB: median(rows.map((row) => row.heapMiB)),
      rssMiB: median(rows.map((row) => row.rssMiB)),
      firstTaskMs: median(rows.map((row) => row.firstTaskMs)),
    };
  });
}

/** The table for the report. */
export function modulesMarkdown(rows: readonly ModulesRow[]): string {
  return [
    '### Worker modules: what each costs a thread (one thread, medians)',
    '',
    '| modules loaded | thread heap MiB | process RSS +MiB | first task ms (start + imports) |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.modules} | ${r.heapMiB.toFixed(1)} | ${r.rssMiB.toFixed(1)} | ${Math.round(r.firstTaskMs)} |`,
    ),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(modulesMarkdown(await benchModules()));
}
