/**
 * The Fastify example service (examples/fastify) under load, driven by autocannon over loopback:
 * - throughput and p50/p99 at 10, 50 and 200 connections, against the same routes and task code
 *   on bare Piscina and on the main thread, and the plugin at `threadNice: 0` (each service in
 *   its own process, alternating order between rounds, medians of the rounds);
 * - 10× overload of the CPU route (open loop, at ten times the measured capacity): the share of
 *   503s and their latency (autocannon's, and the server's own), /healthz latency from a checker
 *   in its own process, where the CPU went, and the server's RSS before and after the flood
 *   (bench/support/service-overload.ts);
 * - SIGTERM under load with 2 s tasks: how long the process takes to exit, and how many requests
 *   were answered.
 */
import { request as httpRequest, Agent } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { median } from './support/compare.js';
import { measureOverload, threadCpu, type OverloadReport } from './support/service-overload.js';
import { startService, type Service } from '../test/support/service.js';

const repository = new URL('../', import.meta.url).pathname.includes('/dist-bench/')
  ? new URL('../../', import.meta.url)
  : new URL('../', import.meta.url);
const exampleServer = fileURLToPath(new URL('examples/fastify/server.js', repository));
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/**
 * The same server.js each time: for the others, `--import service-swap.mjs` makes its import of
 * node-orchestrator/fastify load a stand-in that runs the same task functions elsewhere, or the
 * plugin with other orchestrator options (`runner: 'plugin'`).
 */
const VARIANTS = {
  'node-orchestrator/fastify': { runner: undefined, options: undefined },
  // The plugin's default nice buys the event loop under overload with throughput on allocating
  // tasks (README, "The event loop first"): the bench keeps both sides in view.
  'node-orchestrator/fastify, threadNice 0': { runner: 'plugin', options: { threadNice: 0 } },
  'bare Piscina': { runner: 'piscina', options: undefined },
  'main thread': { runner: 'main', options: undefined },
} as const;
type Variant = keyof typeof VARIANTS;

function startVariant(variant: Variant): Promise<Service> {
  const { runner, options } = VARIANTS[variant];
  // Every service gets the timing preload (idle outside the flood), so they stay alike.
  const timing = ['--import', pathToFileURL(fixture('service-timing.mjs')).href];
  if (runner === undefined) return startService(exampleServer, { execArgv: timing });
  return startService(exampleServer, {
    execArgv: [...timing, '--import', pathToFileURL(fixture('service-swap.mjs')).href],
    env: { SERVICE_RUNNER: runner, SERVICE_ORCHESTRATOR_OPTIONS: JSON.stringify(options ?? {}) },
  });
}

const PARAGRAPH =
  'Worker threads let a Node.js service run CPU-bound work such as tokenizing, hashing or image ' +
  'decoding without blocking its event loop. A pool sized to the cores keeps them busy; a limiter ' +
  'in front of it decides how much may run at once, sheds what cannot be served in time, and ' +
  'cancels work whose client has gone away.';

const ROUTES = {
  '/hash (~5 ms CPU)': { path: '/hash', body: { text: 'correct horse battery staple' } },
  '/tokenize (one paragraph)': { path: '/tokenize', body: { text: PARAGRAPH } },
} as const;
type Route = keyof typeof ROUTES;

const LEVELS = [10, 50, 200] as const;
/** The route the overload run floods. */
const FLOODED: Route = '/hash (~5 ms CPU)';
/**
 * The flood is offered by this many autocannon instances started evenly over a second: 16 or
 * so requests every 10 ms rather than the whole second's at once (see measureOverload).
 */
const OVERLOAD_PHASES = 100;
/** Floods in a row: the first one's numbers are the report's; the others show what repeats. */
const OVERLOAD_FLOODS = 3;
/** The example's closeTimeoutMs, and the orchestrator's default cancelGraceMs. */
const CLOSE_BUDGET_MS = 5000 + 1000;

/** One cell of the level table. */
export interface LevelRow {
  variant: Variant;
  route: Route;
  connections: number;
  /** 2xx responses per second (median of the rounds). */
  okPerSecond: number;
  /**
   * Median over the rounds of this service's 2xx/s divided by bare Piscina's in the same round
   * (the two ran back to back): steadier than the ratio of the medians when the machine's speed
   * drifts between rounds.
   */
  ratioToPiscina: number;
  /** The lowest and highest of those per-round ratios. */
  ratioRange: readonly [number, number];
  p50Ms: number;
  p99Ms: number;
  /**
   * CPU the service process (all its threads) spent per 2xx, in milliseconds, median of the
   * rounds: what each answer costs, which holds on a busy machine where throughput does not.
   */
  cpuMsPerOk: number;
  /** Share of non-2xx responses (shed requests), median of the rounds. */
  shedShare: number;
  /** Connection errors and timeouts, summed over the rounds. */
  errors: number;
}

/** What the flood, the probe and the SIGTERM run measured. */
export interface ServiceReport {
  levels: LevelRow[];
  overload: OverloadReport;
  /** The same flood again, right after, each: whether RSS grows with each flood or holds. */
  overloadAgain: OverloadReport[];
  sigterm: {
    requests: number;
    answered: number;
    ok: number;
    unavailable: number;
    /** Statuses of answers that were neither 200 nor 503, one entry per answer. */
    otherStatuses: number[];
    exitMs: number;
    budgetMs: number;
  };
}

function load(
  url: string,
  route: Route,
  options: { connections: number; duration: number; overallRate?: number },
  onResponse?: (status: number, ms: number) => void,
): Promise<Result> {
  const { path, body } = ROUTES[route];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: url + path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        timeout: 30,
        ...options,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    if (onResponse) instance.on('response', (_client, status, _bytes, ms) => onResponse(status, ms));
  });
}

/**
 * Waits until a service has no task running or waiting: a run's abandoned requests must not slow
 * the next run, of this service or another. Bare Piscina and the main thread keep working on
 * requests whose client has gone (nothing cancels them; 200 abandoned hashes are seconds of CPU);
 * the plugin cancels them, which is part of what it is for, but the comparison is between steady
 * states, so every run starts with every service idle.
 */
async function waitIdle(variant: Variant, service: Service): Promise<void> {
  for (;;) {
    const { runner } = VARIANTS[variant];
    if (runner === undefined || runner === 'plugin') {
      const metrics = await fetch(`${service.url}/metrics`).then((r) => r.text());
      const value = (name: string): number =>
        Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? 0);
      if (value('orchestrator_queue_depth') === 0 && value('orchestrator_tasks_in_flight') === 0) return;
    } else {
      const { pending } = (await fetch(`${service.url}/pending`).then((r) => r.json())) as {
        pending: number;
      };
      if (pending === 0) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(service: Service): Promise<void> {
  service.child.kill('SIGTERM');
  await service.exited;
}

async function measureLevels(
  services: Record<Variant, Service>,
  rounds: number,
  seconds: number,
): Promise<LevelRow[]> {
  const samples = new Map<
    string,
    { ok: number; cpu: number; p50: number; p99: number; shed: number; errors: number }[]
  >();
  const variants = Object.keys(VARIANTS) as Variant[];
  for (let round = 0; round < rounds; round++) {
    for (const connections of LEVELS) {
      for (const route of Object.keys(ROUTES) as Route[]) {
        const ordered = round % 2 === 0 ? variants : [...variants].reverse();
        process.stderr.write(`    round ${round + 1}/${rounds}: ${connections} connections, ${route}\n`);
        for (const variant of ordered) {
          // Every service, not only the next: one still working through the requests its
          // last run abandoned (bare Piscina and the main thread cancel nothing) would take
          // the cores from the one measured.
          await Promise.all(variants.map((v) => waitIdle(v, services[v])));
          const pid = services[variant].child.pid!;
          const before = threadCpu(pid);
          const result = await load(services[variant].url, route, { connections, duration: seconds });
          const after = threadCpu(pid);
          process.stderr.write(
            `      ${variant}: ${result['2xx']} × 2xx, ${result.non2xx} other, ${result.errors} errors in ${result.duration} s\n`,
          );
          const key = `${variant}|${route}|${connections}`;
          const total = result['2xx'] + result.non2xx;
          const list = samples.get(key) ?? [];
          list.push({
            ok: result['2xx'] / result.duration,
            cpu:
              (1000 * (after.main + after.other - before.main - before.other)) / Math.max(1, result['2xx']),
            p50: result.latency.p50,
            p99: result.latency.p99,
            shed: total === 0 ? 0 : result.non2xx / total,
            errors: result.errors,
          });
          samples.set(key, list);
        }
      }
    }
  }
  return [...samples].map(([key, list]) => {
    const [variant, route, connections] = key.split('|') as [Variant, Route, string];
    const baseline = samples.get(`bare Piscina|${route}|${connections}`) ?? [];
    const ratios = list.map((s, round) => s.ok / (baseline[round]?.ok ?? Number.NaN));
    return {
      variant,
      route,
      connections: Number(connections),
      okPerSecond: median(list.map((s) => s.ok)),
      ratioToPiscina: median(ratios),
      ratioRange: [Math.min(...ratios), Math.max(...ratios)] as const,
      cpuMsPerOk: median(list.map((s) => s.cpu)),
      p50Ms: median(list.map((s) => s.p50)),
      p99Ms: median(list.map((s) => s.p99)),
      shedShare: median(list.map((s) => s.shed)),
      errors: list.reduce((sum, s) => sum + s.errors, 0),
    };
  });
}

async function measureSigterm(requests = 40): Promise<ServiceReport['sigterm']> {
  const service = await startService(exampleServer);
  const agent = new Agent({ keepAlive: true, maxSockets: requests });
  const statuses: Promise<number>[] = [];
  for (let i = 0; i < requests; i++) {
    statuses.push(
      new Promise((resolve) => {
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port: service.port,
            path: '/hash',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json' },
          },
          (response) => {
            response.resume();
            response.once('end', () => resolve(response.statusCode ?? 0));
          },
        );
        request.once('error', () => resolve(0));
        request.end(JSON.stringify({ text: `key ${i}`, rounds: 2_000_000 }));
      }),
    );
  }
  // Wait until the pool runs them (state, polled), then terminate.
  for (;;) {
    const metrics = await fetch(`${service.url}/metrics`).then((r) => r.text());
    if (/^orchestrator_tasks_in_flight [1-9]/m.test(metrics)) break;
  }
  const started = performance.now();
  service.child.kill('SIGTERM');
  await service.exited;
  const exitMs = performance.now() - started;
  const answers = await Promise.all(statuses);
  agent.destroy();
  return {
    requests,
    answered: answers.filter((s) => s !== 0).length,
    ok: answers.filter((s) => s === 200).length,
    unavailable: answers.filter((s) => s === 503).length,
    otherStatuses: answers.filter((s) => s !== 0 && s !== 200 && s !== 503),
    exitMs,
    budgetMs: CLOSE_BUDGET_MS,
  };
}

/** Runs the whole service load test. */
export async function benchService(rounds = 5, seconds = 4): Promise<ServiceReport> {
  const variants = Object.keys(VARIANTS) as Variant[];
  const started = await Promise.all(variants.map(startVariant));
  const services = Object.fromEntries(variants.map((v, i) => [v, started[i]!])) as Record<Variant, Service>;
  try {
    process.stderr.write('  service: warm-up\n');
    for (const variant of variants) {
      for (const route of Object.keys(ROUTES) as Route[]) {
        await load(services[variant].url, route, { connections: 10, duration: 2 });
      }
    }
    const levels = await measureLevels(services, rounds, seconds);
    const capacity = levels.find(
      (r) => r.variant === 'node-orchestrator/fastify' && r.route === FLOODED && r.connections === 50,
    )!.okPerSecond;
    // The other services stay idle during the flood, as they were between their own runs.
    process.stderr.write('  service: 10× overload\n');
    const service = services['node-orchestrator/fastify'];
    const flood = (): Promise<OverloadReport> =>
      measureOverload(service, `${service.url}${ROUTES[FLOODED].path}`, ROUTES[FLOODED].body, {
        capacity,
        seconds: 10,
        phases: OVERLOAD_PHASES,
      });
    const overload = await flood();
    // A flood leaves RSS near its high-water mark for a while (V8 and malloc give memory back
    // slowly); more floods tell that from a leak, which would grow with each.
    const overloadAgain: OverloadReport[] = [];
    for (let i = 1; i < OVERLOAD_FLOODS; i++) {
      process.stderr.write(`  service: 10× overload again (${i + 1}/${OVERLOAD_FLOODS})\n`);
      overloadAgain.push(await flood());
    }
    await Promise.all(variants.map((variant) => stop(services[variant])));
    process.stderr.write('  service: SIGTERM under load\n');
    const sigterm = await measureSigterm();
    return { levels, overload, overloadAgain, sigterm };
  } finally {
    for (const service of started) service.child.kill('SIGKILL');
  }
}

const fixed = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '—');

/** Renders the report as Markdown tables. */
export function serviceMarkdown(report: ServiceReport): string {
  const lines = [
    '### The Fastify example service under autocannon (loopback, each service in its own process)',
    '',
    '| route | connections | service | 2xx/s | ratio to bare Piscina (per round: median, range) | CPU ms per 2xx | p50 ms | p99 ms | shed | errors |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const route of Object.keys(ROUTES) as Route[]) {
    for (const connections of LEVELS) {
      const rows = report.levels.filter((r) => r.route === route && r.connections === connections);
      for (const row of rows) {
        const [low, high] = row.ratioRange;
        lines.push(
          `| ${route} | ${connections} | ${row.variant} | ${Math.round(row.okPerSecond).toLocaleString('en-US')} | ${fixed(row.ratioToPiscina, 2)} (${fixed(low, 2)}–${fixed(high, 2)}) | ${fixed(row.cpuMsPerOk, 2)} | ${fixed(row.p50Ms)} | ${fixed(row.p99Ms)} | ${fixed(100 * row.shedShare)}% | ${row.errors} |`,
        );
      }
    }
  }
  const o = report.overload;
  const again = (show: (flood: OverloadReport) => string): string =>
    report.overloadAgain.map(show).join(', ');
  const server503 = o.server.routes[`${ROUTES[FLOODED].path} 503`];
  const s = report.sigterm;
  lines.push(
    '',
    `**10× overload** of /hash on node-orchestrator/fastify: ${Math.round(o.offeredPerSecond).toLocaleString('en-US')} req/s offered (10 × the ${Math.round(o.capacityPerSecond)}/s measured at 50 connections, by ${o.phases} autocannon instances started evenly over a second), ${Math.round(o.achievedPerSecond).toLocaleString('en-US')}/s answered, ${Math.round(o.okPerSecond)}/s of them 200. ` +
      `503s: ${fixed(100 * o.shedShare)}% of answers; as autocannon saw them p50 ${fixed(o.shed.p50)} ms, p99 ${fixed(o.shed.p99)} ms (after the connection storm of the first 2 s: p99 ${fixed(o.shedSteady.p99)} ms; ${o.listenOverflows} SYNs dropped by a full listen queue); ` +
      `the server's own time from request to response: p50 ${fixed(server503?.p50 ?? Number.NaN, 2)} ms, p99 ${fixed(server503?.p99 ?? Number.NaN, 2)} ms. 200s p50 ${fixed(o.ok.p50)} ms, p99 ${fixed(o.ok.p99)} ms. ` +
      `/healthz (a checker in its own process, every 50 ms, ${o.healthz.count} probes): p50 ${fixed(o.healthz.p50)} ms, p99 ${fixed(o.healthz.p99)} ms. ` +
      `Event loop delay p99: server ${fixed(o.server.eventLoopDelay.p99)} ms, autocannon ${fixed(o.clientEventLoopDelay.p99)} ms. CPU (cores): autocannon ${fixed(o.cpu.client, 2)}, server main thread ${fixed(o.cpu.serverMain, 2)}, its other threads ${fixed(o.cpu.serverOther, 2)}. ` +
      `Connection errors and timeouts: ${o.errors}. RSS ${o.rssMiB.before} MiB before, ${o.rssMiB.afterFlood} MiB right after, ${o.rssMiB.settled} MiB 5 s later.`,
    '',
    `**The same flood ${report.overloadAgain.length} more times**, one after the other: 503s p99 ${again((a) => `${fixed(a.shed.p99)} ms (${fixed(a.shedSteady.p99)})`)}; /healthz p99 ${again((a) => `${fixed(a.healthz.p99)} ms`)}; RSS 5 s after each flood, the first included: ${[o, ...report.overloadAgain].map((a) => `${a.rssMiB.settled}`).join(' → ')} MiB.`,
    '',
    `**SIGTERM under load**: ${s.requests} requests of ~2 s tasks, SIGTERM once they run: exited after ${Math.round(s.exitMs)} ms (closeTimeoutMs + cancelGraceMs = ${s.budgetMs} ms); ${s.answered}/${s.requests} answered (${s.ok} × 200, ${s.unavailable} × 503${s.otherStatuses.length > 0 ? `, others: ${s.otherStatuses.join(', ')}` : ''}).`,
  );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(serviceMarkdown(await benchService()));
}
