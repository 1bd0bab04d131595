import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serveMetrics, type DashboardFrame, type Orchestrator } from 'node-orchestrator';
import { fakeGpu } from './support/fake-gpu.js';
import { closeServer } from './support/http.js';
import { closeAll, createOrchestrator } from './support/orchestrator.js';
import { requireTool } from './support/tools.js';

/**
 * Where the screenshot goes. `UPDATE_SCREENSHOTS=1 npm test` writes the README's own
 * (docs/dashboard.png); an ordinary run writes a temporary one, so the test leaves the tree clean.
 */
const SCREENSHOT =
  process.env['UPDATE_SCREENSHOTS'] === '1'
    ? fileURLToPath(new URL('../docs/dashboard.png', import.meta.url))
    : join(mkdtempSync(join(tmpdir(), 'dashboard-shot-')), 'dashboard.png');

/** Chromium, headless, with nothing of its own going to the network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await closeAll();
});

/** What the page's `window.__dashboard` holds, as far as the test reads it. */
interface PageState {
  frames: number;
  connects: number;
  last: DashboardFrame | undefined;
  history: { adaptations: { direction: string; reason: string; from: number | null; to: number | null }[] };
  charts: Record<string, { series: { label?: string }[]; data: (number | null)[][] } | undefined>;
}
declare const __dashboard: PageState;

/** The little of the DOM the test reads in the page (the tests compile without the DOM types). */
interface PageElement {
  textContent: string | null;
}
declare const document: {
  querySelectorAll(selector: string): ArrayLike<PageElement | undefined> & Iterable<PageElement>;
};

/**
 * Keeps `loops` runs going on `orchestrator` until stopped; `mode()` picks each run's task:
 * mostly 15 ms sleeps (no CPU, so the queue makes the limit grow), a few failures of two types
 * and timeouts, or in 'failing' mode mostly failures (so the error rate makes it shrink).
 */
function keepBusy(
  orchestrator: Orchestrator,
  loops: number,
  mode: () => 'steady' | 'failing',
): () => Promise<void> {
  let stopped = false;
  const loop = async (): Promise<void> => {
    for (let i = 0; !stopped; i++) {
      const failing = mode() === 'failing' ? i % 10 < 7 : i % 20 === 0;
      const run = failing
        ? orchestrator.run(i % 3 === 0 ? 'failWithCode' : 'fail', i % 3 === 0 ? 'E_UPSTREAM' : 'bad input')
        : i % 25 === 1
          ? orchestrator.run('sleep', 200, { timeoutMs: 40 })
          : orchestrator.run('sleep', 5 + (i % 7) * 3);
      await run.catch(() => undefined);
    }
  };
  const running = Array.from({ length: loops }, loop);
  return async () => {
    stopped = true;
    await Promise.all(running);
  };
}

/**
 * Waits for page state. It polls `page.evaluate` (a DevTools call) rather than using
 * `waitForFunction`, whose in-page \`new Function\` the page's CSP rightly refuses.
 */
async function waitFor<T>(page: Page, what: string, predicate: (arg: T) => boolean, arg: T): Promise<void> {
  try {
    await vi.waitFor(
      async () => {
        // Playwright's argument type does not reduce for a generic T.
        if (!(await page.evaluate(predicate as (arg: unknown) => boolean, arg)))
          throw new Error(`the page never showed ${what}`);
      },
      { timeout: 60_000, interval: 100 },
    );
  } catch (error) {
    const state = await page.evaluate(() => ({
      frames: __dashboard.frames,
      limit: __dashboard.last?.orchestrator?.limit,
      adaptations: __dashboard.history.adaptations,
    }));
    throw new Error(`${String(error)}; the page has ${JSON.stringify(state)}`);
  }
}

/** Limit changes of one direction (and reason, unless null). */
interface ChangeQuery {
  direction: string;
  reason: string | null;
}

function matching(adaptations: readonly { direction: string; reason: string }[], query: ChangeQuery): number {
  return adaptations.filter((a) => a.direction === query.direction && (query.reason ?? a.reason) === a.reason)
    .length;
}

/** In the page: whether it shows more such changes than `more` (and the limit at `limit`, if set). */
const moreChanges = (query: ChangeQuery & { more: number; limit?: number }): boolean =>
  __dashboard.history.adaptations.filter(
    (a) => a.direction === query.direction && (query.reason ?? a.reason) === a.reason,
  ).length > query.more &&
  (query.limit === undefined || __dashboard.last?.orchestrator?.limit === query.limit);

describe.runIf(requireTool('chromium', 'chromium'))('the dashboard page in headless Chromium', () => {
  it('draws every chart from live orchestrators, updates, marks adaptations, reconnects and switches', async () => {
    const registry = new Registry();
    const gpu = fakeGpu({ utilization: 45 });
    cleanups.push(gpu.remove);
    // Bursts of errors bring the limit down to 1 by the error-rate rule, whatever the CPU does;
    // then the queue of CPU-free sleeps raises it (below the core count the CPU rule cannot object).
    let mode: 'steady' | 'failing' = 'steady';
    const ingest = createOrchestrator({
      registry,
      name: 'ingest',
      adaptive: true,
      adaptationIntervalMs: 400,
      baseLimit: 4,
      minLimit: 1,
      maxLimit: 6,
      queueHighWatermark: 2,
      increaseStep: 1,
      errorWindow: 40,
      errorMinSamples: 10,
      systemSampler: { intervalMs: 250, gpuIntervalMs: 500, env: gpu.env },
    });
    const score = createOrchestrator({ registry, name: 'score', baseLimit: 1 });
    const server: Server = await serveMetrics({ registry, port: 0 });
    cleanups.push(() => closeServer(server));

    const profile = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
    cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 1000 },
    });
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) =>
      problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`),
    );
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    const { port } = server.address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));

    await page.goto(`${origin}/dashboard?orchestrator=ingest&interval=500&window=60`);
    await waitFor(page, 'a first frame', (n) => __dashboard.frames >= n, 1);
    cleanups.push(keepBusy(ingest, 16, () => mode));
    cleanups.push(keepBusy(score, 2, () => 'steady'));
    /** Failures until the page shows the limit cut for them, then calm until it grows again. */
    const burst = async (): Promise<void> => {
      const seen = await page.evaluate(() => __dashboard.history.adaptations);
      const down = { direction: 'down', reason: 'error-rate' };
      const up = { direction: 'up', reason: null };
      mode = 'failing';
      // Errors go on until the limit is at 1: from there the queue raises it whatever the CPU does.
      await waitFor(page, 'the limit cut to 1 by errors', moreChanges, {
        ...down,
        more: matching(seen, down),
        limit: 1,
      });
      mode = 'steady';
      await waitFor(page, 'the limit growing again', moreChanges, { ...up, more: matching(seen, up) });
    };
    await burst();
    await waitFor(page, 'twelve frames', (n) => __dashboard.frames >= n, 12);
    await burst();
    await waitFor(page, 'thirty frames', (n) => __dashboard.frames >= n, 30);

    // Every chart holds data, read back from uPlot itself.
    const charts = await page.evaluate(() =>
      Object.fromEntries(
        Object.entries(__dashboard.charts).map(([id, plot]) => [
          id,
          plot && {
            labels: plot.series.slice(1).map((series) => series.label),
            drawn: plot.data.slice(1).map((column) => column.filter((v) => Number.isFinite(v)).length),
            times: plot.data[0]!.length,
          },
        ]),
      ),
    );
    expect(Object.keys(charts).sort()).toEqual(['concurrency', 'errors', 'latency', 'machine', 'throughput']);
    for (const [id, chart] of Object.entries(charts)) {
      expect(chart, id).toBeDefined();
      expect(chart!.times, id).toBeGreaterThanOrEqual(30);
      for (const [i, drawn] of chart!.drawn.entries())
        expect(drawn, `${id}: ${chart!.labels[i]}`).toBeGreaterThan(0);
    }
    expect(charts['concurrency']!.labels).toEqual(['limit', 'in flight', 'threads', 'queued (right)']);
    expect(charts['throughput']!.labels).toEqual(expect.arrayContaining(['success', 'error', 'timeout']));
    expect(charts['errors']!.labels).toEqual(
      expect.arrayContaining(['E_FIXTURE', 'E_UPSTREAM', 'ERR_TASK_TIMEOUT']),
    );
    expect(charts['latency']!.labels).toEqual(['run p50', 'run p99', 'wait p50', 'wait p99']);
    expect(charts['machine']!.labels).toEqual(['CPU load', 'GPU utilization', 'error rate']);

    // What the page shows is what the server sent.
    const shown = await page.evaluate(() => ({
      frame: __dashboard.last!,
      lastLimit: __dashboard.charts['concurrency']!.data[1]!.at(-1),
      tiles: [...document.querySelectorAll('.tile')].map((tile) => tile.textContent),
      adaptations: __dashboard.history.adaptations,
      listed: document.querySelectorAll('#adaptations li').length,
      rows: [...document.querySelectorAll('#breakdown-table tbody td:first-child')].map(
        (td) => td.textContent,
      ),
    }));
    expect(shown.frame.orchestrator!.name).toBe('ingest');
    expect(shown.lastLimit).toBe(shown.frame.orchestrator!.limit);
    expect(shown.tiles[0]).toBe(`limit${shown.frame.orchestrator!.limit}min 1`);
    expect(shown.tiles[9]).toBe('GPU45%wait –');
    expect(shown.listed).toBe(Math.min(50, shown.adaptations.length));
    for (const a of shown.adaptations) expect(a.reason).toMatch(/^[a-z-]+$/);
    expect(shown.rows.sort()).toEqual(['fail', 'failWithCode', 'sleep']);

    // The numbers move on their own.
    const before = await page.evaluate(() => ({
      frames: __dashboard.frames,
      runs: document.querySelectorAll('.tile .sub')[4]!.textContent,
    }));
    await waitFor(
      page,
      'new numbers',
      ({ frames, runs }) =>
        __dashboard.frames >= frames + 3 && document.querySelectorAll('.tile .sub')[4]!.textContent !== runs,
      before,
    );

    expect(problems).toEqual([]);
    expect(requested.filter((url) => !url.startsWith(origin))).toEqual([]);
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(20_000);

    // A dropped stream comes back by itself, and the page carries on.
    const connected = await page.evaluate(() => __dashboard.connects);
    const frames = await page.evaluate(() => __dashboard.frames);
    server.closeAllConnections();
    await waitFor(
      page,
      'a reconnected stream',
      (seen) => __dashboard.connects > seen.connected && __dashboard.frames > seen.frames + 2,
      { connected, frames },
    );
    // The dropped stream is the only casualty (Chromium logs its truncated response, unnamed).
    const dropped = 'console: Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING';
    expect(problems.filter((p) => !p.includes('/dashboard/events') && p !== dropped)).toEqual([]);

    // Another orchestrator on the same registry, chosen in the selector.
    const option = JSON.stringify(['orchestrator_', 'score']);
    await page.selectOption('#orchestrator', option);
    await waitFor(
      page,
      'the other orchestrator',
      (name) =>
        __dashboard.last?.orchestrator?.name === name && __dashboard.charts['throughput'] !== undefined,
      'score',
    );
    expect(new URL(page.url()).searchParams.get('orchestrator')).toBe('score');
  }, 180_000);
});
