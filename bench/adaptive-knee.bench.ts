/**
 * Issue #13's goals for adaptive control, on real workers on this machine:
 * - fixed-work CPU tasks (5 ms of arithmetic each) with a deep queue: each controller from
 *   baseLimit 1 and from 16 (maxLimit 16), at 200 ms intervals, against fixed limits near and
 *   far above the cores, every contender running 60 s, side by side, alternating order between
 *   rounds. The goals: the limit within [cores, 3 × cores] after 12 s, and throughput over the
 *   60 s at least 0.9 × the best fixed limit's;
 * - tasks that wait (20 ms, no computing) with a deep queue: the limit grows and stays.
 * A long suite (about 8 minutes a round on 2 cores): `npm run bench:knee`.
 */
import { availableParallelism } from 'node:os';
import { Orchestrator, type OrchestratorOptions } from 'node-orchestrator';
import { iterationsForMs } from './support/calibrate.js';
import { median } from './support/compare.js';

const WORKER = new URL('./fixtures/tasks.mjs', import.meta.url);

/** Closed-loop clients: enough that the queue stays deep (over the threshold controller's watermark). */
const CLIENTS = 256;

/** One contender's run: throughput and the limit once a second. */
interface Trace {
  tasksPerSecond: number;
  limits: number[];
}

/** Keeps CLIENTS runs of `task` submitted for `ms`, from the orchestrator's start. */
async function closedLoop(
  options: OrchestratorOptions,
  task: string,
  input: unknown,
  ms: number,
): Promise<Trace> {
  const orchestrator = new Orchestrator(options);
  try {
    let running = true;
    let completed = 0;
    const loop = async (): Promise<void> => {
      while (running) {
        await orchestrator.run(task, input);
        completed++;
      }
    };
    const limits: number[] = [];
    const start = performance.now();
    const loops = Array.from({ length: CLIENTS }, loop);
    const ticker = setInterval(() => limits.push(orchestrator.limit), 1000);
    await new Promise((resolve) => setTimeout(resolve, ms));
    const counted = completed;
    const elapsed = performance.now() - start;
    clearInterval(ticker);
    running = false;
    await Promise.all(loops);
    return { tasksPerSecond: (counted / elapsed) * 1000, limits };
  } finally {
    await orchestrator.close();
  }
}

/** A row of the CPU comparison. */
export interface KneeRow {
  name: string;
  tasksPerSecond: number;
  ratio: number;
  /** Adaptive contenders: the limit at 12 s, and its range from 12 s on (first round). */
  limitAt12s?: number;
  limitRange?: [number, number];
  limits?: number[];
}

/** The figures of the suite. */
export interface KneeResult {
  cores: number;
  cpu: KneeRow[];
  waiting: { name: string; limitAt12s: number; limitRange: [number, number]; limits: number[] }[];
  markdown: string;
}

const ADAPTIVE = { adaptationIntervalMs: 200, minLimit: 1, maxLimit: 16 } as const;

/** Runs the suite: `rounds` alternating rounds of `ms` per contender. */
export async function benchKnee(rounds = 2, ms = 60_000): Promise<KneeResult> {
  const cores = availableParallelism();
  const fixed = [...new Set([cores, cores + 1, 2 * cores, 16])].filter((limit) => limit <= 16);
  const contenders: { name: string; options: OrchestratorOptions }[] = [
    ...fixed.map((limit) => ({
      name: `fixed ${limit}`,
      options: { worker: WORKER, baseLimit: limit, minLimit: limit, maxLimit: limit, adaptive: false },
    })),
    ...(['threshold', 'gradient'] as const).flatMap((controller) =>
      [1, 16].map((baseLimit) => ({
        name: `${controller} from ${baseLimit}`,
        options: { worker: WORKER, controller, baseLimit, ...ADAPTIVE },
      })),
    ),
  ];
  const work = iterationsForMs(5);
  const traces = new Map<string, Trace[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      process.stderr.write(`  round ${round + 1}/${rounds}: ${contender.name}\n`);
      traces.get(contender.name)!.push(await closedLoop(contender.options, 'cpu', work, ms));
    }
  }
  const rows: KneeRow[] = contenders.map((c) => {
    const runs = traces.get(c.name)!;
    const row: KneeRow = {
      name: c.name,
      tasksPerSecond: median(runs.map((r) => r.tasksPerSecond)),
      ratio: 0,
    };
    if (c.options.adaptive === false) return row;
    // limits[i] is the limit at (i + 1) s.
    const after = runs.flatMap((r) => r.limits.slice(11));
    return {
      ...row,
      limitAt12s: runs[0]!.limits[11],
      limitRange: [Math.min(...after), Math.max(...after)],
      limits: runs[0]!.limits,
    };
  });
  const best = Math.max(...rows.filter((r) => r.limits === undefined).map((r) => r.tasksPerSecond));
  for (const row of rows) row.ratio = row.tasksPerSecond / best;

  const waiting: KneeResult['waiting'] = [];
  for (const controller of ['threshold', 'gradient'] as const) {
    const trace = await closedLoop(
      { worker: WORKER, controller, baseLimit: 2, ...ADAPTIVE, maxLimit: 32 },
      'wait',
      20,
      20_000,
    );
    const after = trace.limits.slice(11);
    waiting.push({
      name: controller,
      limitAt12s: trace.limits[11]!,
      limitRange: [Math.min(...after), Math.max(...after)],
      limits: trace.limits,
    });
  }
  const markdown = [
    `### Adaptive control on ${cores} cores (#13): 5 ms CPU tasks, ${CLIENTS} clients, ${ms / 1000} s per contender, median of ${rounds} rounds`,
    '',
    '| contender | tasks/s | ratio to best fixed | limit at 12 s | limit from 12 s on |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.tasksPerSecond).toLocaleString('en-US')} | ${r.ratio.toFixed(2)} | ${r.limitAt12s ?? ''} | ${r.limitRange === undefined ? '' : `${r.limitRange[0]}–${r.limitRange[1]}`} |`,
    ),
    '',
    ...rows
      .filter((r) => r.limits !== undefined)
      .map((r) => `- ${r.name}, limit each second: ${r.limits!.join(' ')}`),
    '',
    `Tasks that wait 20 ms (maxLimit 32, from 2, ${CLIENTS} clients, 20 s):`,
    '',
    ...waiting.map(
      (w) =>
        `- ${w.name}: limit at 12 s ${w.limitAt12s}, from 12 s on ${w.limitRange[0]}–${w.limitRange[1]}; each second: ${w.limits.join(' ')}`,
    ),
  ].join('\n');
  return { cores, cpu: rows, waiting, markdown };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log((await benchKnee()).markdown);
}
