/**
 * `npm run soak`: about a million mixed operations against real worker threads, with the
 * guarantees of test/orchestrator-interleavings.test.ts checked after every scenario, and figures
 * at the end (operations per second, peak RSS, every violation). Not part of `npm test`.
 *
 * SOAK_OPS (default 1,000,000) and SOAK_SEED (default 11) change the run. A scenario that does not
 * finish within SOAK_STALL_MS (default 60,000; scenarios take about a second) is reported as a
 * stall, and the soak stops there: a stranded run would otherwise hang it forever.
 */
import { Orchestrator } from 'node-orchestrator';
import { describeOp, Scenario, type Op } from '../support/mixed-ops.js';
import { soakOps, weight } from './soak-mix.js';
import { edgeWorker } from '../support/probe.js';

const TOTAL = Number(process.env['SOAK_OPS'] ?? 1_000_000);
const SEED = Number(process.env['SOAK_SEED'] ?? 11);
const STALL_MS = Number(process.env['SOAK_STALL_MS'] ?? 60_000);
/** Operations per scenario: one mix, driven to its end and checked. */
const SCENARIO_OPS = 2_000;
/** Scenarios per orchestrator; it is closed (and checked for leftovers) after the last. */
const SCENARIOS_PER_ORCHESTRATOR = 10;
/** Submissions between two turns of the event loop. */
const BURST = 64;

interface Figures {
  operations: number;
  scenarios: number;
  orchestrators: number;
  violations: string[];
  /** The longest a scenario took from its first op to its last check, in ms. */
  slowestScenarioMs: number;
}

/** Resolves with `promise`'s value, or with `stalled` if it takes longer than `ms`. */
async function withinStall<T>(promise: Promise<T>, ms: number): Promise<T | 'stalled'> {
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), ms)));
  try {
    return await Promise.race([promise, stall]);
  } finally {
    clearTimeout(timer);
  }
}

async function scenario(
  orchestrator: Orchestrator,
  seed: number,
  mix: readonly Op[],
  last: boolean,
  figures: Figures,
): Promise<boolean> {
  const began = performance.now();
  const run = new Scenario(orchestrator, SCENARIO_OPS * 64 + 16);
  for (let i = 0; i < mix.length; i++) {
    run.execute(i, mix[i]!);
    figures.operations += weight(mix[i]!);
    if (i % BURST === BURST - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  const outcome = await withinStall(run.finish(last), STALL_MS);
  figures.scenarios++;
  figures.slowestScenarioMs = Math.max(figures.slowestScenarioMs, performance.now() - began);
  if (outcome === 'stalled') {
    const unsettled = run.runs.filter((r) => r.settles === 0).slice(0, 5);
    figures.violations.push(
      `scenario with seed ${seed} did not finish within ${STALL_MS} ms (a stall): inFlight ${orchestrator.inFlight}, ` +
        `queued ${orchestrator.queued}, threads ${orchestrator.threads}; unsettled: ` +
        unsettled.map((r) => `#${r.n} ${describeOp(r.op)}`).join(', '),
    );
    run.releaseAll();
    return false;
  }
  figures.violations.push(...outcome.map((v) => `[seed ${seed}] ${v}`));
  return true;
}

async function main(): Promise<void> {
  const figures: Figures = {
    operations: 0,
    scenarios: 0,
    orchestrators: 0,
    violations: [],
    slowestScenarioMs: 0,
  };
  let stalled = false;
  const started = performance.now();
  let seed = SEED;
  let lastReport = started;
  while (figures.operations < TOTAL && !stalled) {
    const coalesce = figures.orchestrators % 2 === 1;
    const orchestrator = new Orchestrator({
      worker: edgeWorker,
      adaptive: false,
      minLimit: 1,
      baseLimit: 1 + (figures.orchestrators % 3),
      maxLimit: 3,
      closeTimeoutMs: 60_000,
      cancelGraceMs: 60_000,
      batch: coalesce ? { maxSize: 32, maxDelayMs: 1 } : undefined,
    });
    figures.orchestrators++;
    for (let i = 0; i < SCENARIOS_PER_ORCHESTRATOR && !stalled; i++) {
      const mix = soakOps(seed, SCENARIO_OPS);
      const size = mix.reduce((sum, op) => sum + weight(op), 0);
      // The last scenario of an orchestrator closes it and checks that nothing is left.
      const last = i === SCENARIOS_PER_ORCHESTRATOR - 1 || figures.operations + size >= TOTAL;
      stalled = !(await scenario(orchestrator, seed++, mix, last, figures));
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        const rate = figures.operations / ((lastReport - started) / 1000);
        console.error(
          `… ${figures.operations.toLocaleString('en-US')} operations, ${Math.round(rate).toLocaleString('en-US')}/s, ` +
            `${figures.violations.length} violations`,
        );
      }
      if (last) break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const report = {
    operations: figures.operations,
    seconds: Number(seconds.toFixed(1)),
    operationsPerSecond: Math.round(figures.operations / seconds),
    scenarios: figures.scenarios,
    orchestrators: figures.orchestrators,
    slowestScenarioSeconds: Number((figures.slowestScenarioMs / 1000).toFixed(1)),
    maxRssMiB: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
    heapUsedMiB: Number((process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)),
    seed: SEED,
    stalled,
    violations: figures.violations.length,
  };
  console.log(JSON.stringify(report, null, 2));
  for (const violation of figures.violations.slice(0, 20)) console.log(`violation: ${violation}`);
  process.exitCode = figures.violations.length === 0 ? 0 : 1;
  // A stalled orchestrator cannot be closed; do not wait for its threads.
  if (stalled) process.exit();
}

await main();
