/**
 * Adaptive control, in two parts:
 * - the deterministic model (test/support/simulation.ts): limit and throughput trajectories of
 *   both controllers through capacity steps 16 → 8 → 16, written as SVG charts;
 * - real workers: CPU-bound tasks on this machine under the adaptive orchestrator (both
 *   controllers) against every fixed limit from 1 to 8, side by side, as a ratio to the best
 *   fixed limit.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  createGradientController,
  Orchestrator,
  thresholdController,
  type Controller,
} from 'node-orchestrator';
import {
  bestFixed,
  bestStatic,
  meanThroughput,
  modelConfig,
  simulate,
  type Scenario,
} from '../test/support/simulation.js';
import { iterationsForMs } from './support/calibrate.js';
import { median } from './support/compare.js';
import { lineChart } from './support/svg.js';

/** Model trajectories: per controller, the limit and throughput at each interval. */
export interface SimulationReport {
  markdown: string;
  charts: string[];
}

/** Runs the model scenario for both controllers and writes one SVG chart per controller. */
export function benchSimulation(resultsDir: URL): SimulationReport {
  const config = modelConfig();
  const capacity = (k: number): number => (k >= 40 && k < 80 ? 8 : 16);
  const scenario: Scenario = {
    service: { kind: 'cpu', capacity, serviceMs: 100 },
    demandPerSec: () => 240,
    intervals: 120,
  };
  const best16 = bestStatic(
    { ...scenario, service: { ...scenario.service, capacity: () => 16 } },
    config,
    0,
    40,
  );
  const rows: string[] = [];
  const charts: string[] = [];
  mkdirSync(resultsDir, { recursive: true });
  for (const [name, controller] of [
    ['threshold', thresholdController],
    ['gradient', createGradientController({ seed: 42 })],
  ] as [string, Controller][]) {
    const steps = simulate(scenario, controller, config, 4);
    const firstGood = steps.findIndex((s) => s.throughput >= 0.9 * best16);
    rows.push(
      `| ${name} | ${firstGood} | ${(meanThroughput(steps, 10, 40) / best16).toFixed(3)} | ${(meanThroughput(steps, 50, 80) / (best16 / 2)).toFixed(3)} | ${(meanThroughput(steps, 90, 120) / best16).toFixed(3)} | ${steps
        .slice(100)
        .map((s) => s.limit)
        .join(' ')} |`,
    );
    const file = `adaptive-${name}.svg`;
    writeFileSync(
      new URL(file, resultsDir),
      lineChart(
        `${name} controller: capacity 16 → 8 → 16 (model)`,
        [
          { name: 'limit', color: '#1f77b4', points: steps.map((s) => [s.k, s.limit]) },
          {
            name: 'throughput / 100 (tasks/s)',
            color: '#ff7f0e',
            points: steps.map((s) => [s.k, s.throughput / 100]),
          },
          { name: 'capacity', color: '#999', points: steps.map((s) => [s.k, capacity(s.k)]) },
        ],
        'limit, capacity, throughput/100',
      ),
    );
    charts.push(file);
  }
  const markdown = [
    kneeOnModel(),
    '',
    '### Adaptive control on the model (capacity 16 → 8 → 16 cores, demand 1.5× capacity, 5 s intervals)',
    '',
    '| controller | intervals to 90% from cold start | steady ratio at 16 | steady ratio at 8 | steady ratio back at 16 | limits, last 20 intervals |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    ...charts.map((file) => `![${file}](${file})`),
  ].join('\n');
  return { markdown, charts };
}

/**
 * Issue #13's machine on the model: 2 cores time-slicing 5 ms tasks, a deep queue, 200 ms
 * intervals, the CPU load read once a second, 10% noise on latencies; 60 s from 1 and from 16.
 */
function kneeOnModel(): string {
  const config = modelConfig({ maxLimit: 16, adaptationIntervalMs: 200 });
  const scenario: Scenario = {
    service: { kind: 'cpu', capacity: () => 2, serviceMs: 5, switchCost: 0.02 },
    demandPerSec: () => 1000,
    intervals: 300,
    intervalMs: 200,
    cpuSampleMs: 1000,
    noise: 0.1,
  };
  const best = bestFixed(scenario, config, 0, 300);
  const rows: string[] = [];
  for (const [name, make] of [
    ['threshold', () => thresholdController],
    ['gradient', () => createGradientController({ seed: 42 })],
  ] as [string, () => Controller][]) {
    for (const baseLimit of [1, 16]) {
      const steps = simulate(scenario, make(), config, baseLimit);
      const after = steps.slice(60).map((s) => s.limit);
      rows.push(
        `| ${name} from ${baseLimit} | ${(meanThroughput(steps, 0) / best.throughput).toFixed(3)} | ${steps[60]!.limit} | ${Math.min(...after)}–${Math.max(...after)} | ${steps
          .slice(0, 20)
          .map((s) => s.limit)
          .join(' ')} |`,
      );
    }
  }
  return [
    `### Adaptive control on the model of 2 cores (5 ms tasks, 200 ms intervals, 60 s; best fixed limit ${best.limit})`,
    '',
    '| controller | throughput / best fixed | limit at 12 s | limit from 12 s on (probes included) | limits, first 4 s |',
    '| --- | ---: | ---: | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Real-worker comparison figures. */
export interface RealWorkersResult {
  rows: { name: string; tasksPerSecond: number; ratio: number }[];
  markdown: string;
}

const WORKER = new URL('./fixtures/tasks.mjs', import.meta.url);

/** Throughput of one orchestrator with `inFlight` tasks kept submitted for `ms`, after a warm-up. */
async function closedLoop(
  orchestrator: Orchestrator,
  ms: number,
  warmupMs: number,
  work: number,
): Promise<number> {
  let running = true;
  let completed = 0;
  let counting = false;
  const loop = async (): Promise<void> => {
    while (running) {
      await orchestrator.run('cpu', work);
      if (counting) completed++;
    }
  };
  const loops = Array.from({ length: 64 }, loop);
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  counting = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  counting = false;
  const elapsed = performance.now() - start;
  running = false;
  await Promise.all(loops);
  return (completed / elapsed) * 1000;
}

/** Adaptive (both controllers) against every fixed limit 1..8 on 1 ms CPU tasks. */
export async function benchRealWorkers(rounds = 3, ms = 3000): Promise<RealWorkersResult> {
  const contenders: { name: string; options: ConstructorParameters<typeof Orchestrator>[0] }[] = [
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((limit) => ({
      name: `fixed ${limit}`,
      options: { worker: WORKER, baseLimit: limit, minLimit: limit, maxLimit: limit, adaptive: false },
    })),
    ...(['threshold', 'gradient'] as const).map((controller) => ({
      name: `adaptive ${controller}`,
      options: {
        worker: WORKER,
        baseLimit: 4,
        minLimit: 1,
        maxLimit: 8,
        controller,
        adaptationIntervalMs: 250,
      },
    })),
  ];
  const results = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const work = iterationsForMs(1);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const orchestrator = new Orchestrator(contender.options);
      try {
        results.get(contender.name)!.push(await closedLoop(orchestrator, ms, 1500, work));
      } finally {
        await orchestrator.close();
      }
    }
  }
  const medians = contenders.map((c) => ({ name: c.name, tasksPerSecond: median(results.get(c.name)!) }));
  const best = Math.max(...medians.filter((m) => m.name.startsWith('fixed')).map((m) => m.tasksPerSecond));
  const rows = medians.map((m) => ({ ...m, ratio: m.tasksPerSecond / best }));
  const markdown = [
    `### Adaptive against fixed limits: 1 ms CPU tasks, 64 kept in flight, median of ${rounds} rounds of ${ms / 1000} s`,
    '',
    '| contender | tasks/s | ratio to best fixed |',
    '| --- | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.tasksPerSecond).toLocaleString('en-US')} | ${r.ratio.toFixed(2)} |`,
    ),
  ].join('\n');
  return { rows, markdown };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(benchSimulation(new URL('./results/', import.meta.url)).markdown);
  console.log((await benchRealWorkers()).markdown);
}
