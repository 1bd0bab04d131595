/**
 * Tenants on real workers (#13 §1): how three weighted tenants and one arriving late share two
 * threads over time (a chart of each tenant's share of the starts), and a light tenant's waits
 * under a heavy tenant's flood against its waits alone and against arrival order.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Orchestrator, type OrchestratorOptions } from 'node-orchestrator';
import { iterationsForMs } from './support/calibrate.js';
import { FIXED, THREADS } from './support/fixed-pool.js';
import { percentile } from './support/compare.js';
import { lineChart } from './support/svg.js';

const WINDOW_MS = 250;

/** What the suite reports. */
export interface TenantsReport {
  markdown: string;
  shares: { tenant: string; target: number; before: number; after: number }[];
  lateWindowsToShare: number;
  light: { contender: string; p50Ms: number; p99Ms: number }[];
}

/** Keeps `inFlight` runs of `tenant` going until `stop` aborts. */
async function closedLoop(
  orchestrator: Orchestrator,
  tenant: string | undefined,
  inFlight: number,
  input: number,
  stop: AbortSignal,
): Promise<void> {
  const lane = async (): Promise<void> => {
    while (!stop.aborted) await orchestrator.run('cpu', input, { tenant });
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

/** The starts of each tenant label so far, read from the orchestrator's own metrics. */
async function starts(orchestrator: Orchestrator): Promise<Map<string, number>> {
  const metrics = await orchestrator.registry!.getMetricsAsJSON();
  const family = metrics.find((metric) => metric.name === 'orchestrator_tenant_starts_total');
  return new Map((family?.values ?? []).map((sample) => [String(sample.labels['tenant']), sample.value]));
}

const WEIGHTED: readonly [string, number, string][] = [
  ['one', 1, '#1f77b4'],
  ['two', 2, '#ff7f0e'],
  ['four', 4, '#2ca02c'],
  ['late', 1, '#d62728'],
];

/** Weights 1:2:4 from the start, a fourth tenant (weight 1) from 4 s on; shares per 250 ms. */
async function sharesOverTime(
  input: number,
  resultsDir: URL,
): Promise<Omit<TenantsReport, 'light' | 'markdown'> & { chart: string }> {
  const tenants = Object.fromEntries(WEIGHTED.map(([name, weight]) => [name, { weight }]));
  const orchestrator = new Orchestrator({ ...FIXED, tenants });
  const stop = new AbortController();
  const loops = WEIGHTED.slice(0, 3).map(([name]) => closedLoop(orchestrator, name, 32, input, stop.signal));
  const series = new Map(WEIGHTED.map(([name]) => [name, [] as [number, number][]]));
  let previous = await starts(orchestrator);
  const windows = 32;
  for (let w = 0; w < windows; w++) {
    if (w === 16) loops.push(closedLoop(orchestrator, 'late', 32, input, stop.signal));
    await sleep(WINDOW_MS);
    const now = await starts(orchestrator);
    const deltas = WEIGHTED.map(([name]) => (now.get(name) ?? 0) - (previous.get(name) ?? 0));
    const total = deltas.reduce((a, b) => a + b, 0) || 1;
    WEIGHTED.forEach(([name], i) =>
      series.get(name)?.push([(w + 1) * (WINDOW_MS / 1000), (100 * (deltas[i] ?? 0)) / total]),
    );
    previous = now;
  }
  stop.abort();
  await Promise.all(loops);
  await orchestrator.close();
  const mean = (name: string, from: number, to: number): number => {
    const points = (series.get(name) ?? []).slice(from, to);
    return points.reduce((sum, [, share]) => sum + share, 0) / points.length / 100;
  };
  const shares = WEIGHTED.map(([name, weight], i) => ({
    tenant: name,
    target: i < 3 ? weight / 7 : 0,
    before: mean(name, 4, 16),
    after: mean(name, 20, 32),
  }));
  const lateTarget = 1 / 8;
  const late = series.get('late') ?? [];
  const reached = late.slice(16).findIndex(([, share]) => share / 100 >= 0.8 * lateTarget);
  const chart = 'tenants-shares.svg';
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    new URL(chart, resultsDir),
    lineChart(
      `Share of starts per ${WINDOW_MS} ms: weights 1:2:4, a fourth tenant (w1) from 4 s`,
      WEIGHTED.map(([name, weight, color]) => ({
        name: `${name} (w${weight})`,
        color,
        points: series.get(name) ?? [],
      })),
      'share of starts, %',
    ),
  );
  return { shares, lateWindowsToShare: reached === -1 ? Number.NaN : reached + 1, chart };
}

/**
 * A light tenant's bursts (20 runs every 100 ms, a tenth of the pool) with the pool kept busy
 * by a heavy tenant: 2 runs in flight (alone: nothing else waits), or 200 (a flood of 10× the
 * light tenant's volume); the flood once more without tenants, where runs start in arrival order.
 */
async function lightUnderFlood(input: number): Promise<TenantsReport['light']> {
  const contenders: [string, number, Pick<OrchestratorOptions, 'tenants'>, boolean][] = [
    ['alone (heavy keeps 2 in flight)', 2, { tenants: {} }, true],
    ['under a flood (heavy keeps 200 in flight)', 200, { tenants: {} }, true],
    ['the flood without tenants (arrival order)', 200, {}, false],
  ];
  const rows: TenantsReport['light'] = [];
  for (const [contender, heavyInFlight, options, named] of contenders) {
    const orchestrator = new Orchestrator({ ...FIXED, ...options });
    const stop = new AbortController();
    const heavy = closedLoop(orchestrator, named ? 'heavy' : undefined, heavyInFlight, input, stop.signal);
    await sleep(500);
    const latencies: number[] = [];
    for (let burst = 0; burst < 30; burst++) {
      const sent = performance.now();
      const runs = Array.from({ length: 20 }, () =>
        orchestrator.run('cpu', input, { tenant: named ? 'light' : undefined }).then(() => {
          latencies.push(performance.now() - sent);
        }),
      );
      await Promise.all([...runs, sleep(100)]);
    }
    stop.abort();
    await heavy;
    await orchestrator.close();
    rows.push({ contender, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) });
  }
  return rows;
}

/** Runs both parts and renders the section. */
export async function benchTenants(resultsDir: URL): Promise<TenantsReport> {
  const input = iterationsForMs(1);
  const { shares, lateWindowsToShare, chart } = await sharesOverTime(input, resultsDir);
  const light = await lightUnderFlood(input);
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const alone = light[0]?.p99Ms ?? Number.NaN;
  const markdown = [
    `### Tenants on real workers (${THREADS} threads, 1 ms CPU tasks, 32 runs in flight per tenant)`,
    '',
    '| tenant | weight | target share | share 1–4 s | share 5–8 s (with late) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...shares.map(
      (s, i) =>
        `| ${s.tenant} | ${WEIGHTED[i]?.[1]} | ${i < 3 ? pct(s.target) : '—'} → ${pct((WEIGHTED[i]?.[1] ?? 0) / 8)} | ${pct(s.before)} | ${pct(s.after)} |`,
    ),
    '',
    `The late tenant reached 80% of its share within ${lateWindowsToShare} window(s) of ${WINDOW_MS} ms.`,
    '',
    '| light tenant (20 runs every 100 ms) | p50 ms | p99 ms | p99 / alone |',
    '| --- | ---: | ---: | ---: |',
    ...light.map(
      (row) =>
        `| ${row.contender} | ${row.p50Ms.toFixed(1)} | ${row.p99Ms.toFixed(1)} | ${(row.p99Ms / alone).toFixed(2)} |`,
    ),
    '',
    `![${chart}](${chart})`,
  ].join('\n');
  return { markdown, shares, lateWindowsToShare, light };
}
