// The dashboard's state: the stream of frames, the bounded history, the charts. Loaded last.

/** What the page exposes for tests and curious users: `window.__dashboard` in the console. */
interface DashboardDebug {
  /** Frames received since the page loaded. */
  frames: number;
  /** Times the stream was (re)opened. */
  connects: number;
  /** The last frame. */
  last: DashboardFrame | undefined;
  history: FrameHistory;
  /** The uPlot instance of each chart by id; undefined while a chart has nothing to draw. */
  readonly charts: Record<string, uPlot | undefined>;
}

interface Window {
  __dashboard: DashboardDebug;
}

/** How much history the browser keeps at most, whatever window is on screen. */
const KEEP_SECONDS = 15 * 60;
const MAX_ROWS = 3600;

(() => {
  const params = new URLSearchParams(location.search);
  const intervalMs = Number(params.get('interval') ?? '1000');
  const history = new FrameHistory(Math.min(MAX_ROWS, Math.ceil((KEEP_SECONDS * 1000) / intervalMs) + 1));
  const windowSelect = byId<HTMLSelectElement>('window');
  if (params.has('window')) windowSelect.value = params.get('window') ?? '300';
  let windowSeconds = Number(windowSelect.value) || 300;
  const charts = CHARTS.map(
    (spec) => new Chart(spec, byId(`chart-${spec.id}`), history, () => windowSeconds),
  );
  /** A chart per task metric, with the note under its title; rebuilt when the metrics change. */
  const taskCharts = new Map<string, { chart: Chart; note: HTMLElement }>();
  const taskSection = byId('task-metrics-section');
  const taskGrid = byId('task-metrics');
  const syncTaskCharts = (metrics: readonly TaskMetricFrame[]): void => {
    const names = metrics.map((metric) => metric.name).join('\n');
    if (taskGrid.dataset['names'] === names) return;
    taskGrid.dataset['names'] = names;
    for (const { chart } of taskCharts.values()) chart.plot?.destroy();
    taskCharts.clear();
    taskSection.hidden = metrics.length === 0;
    taskGrid.replaceChildren(
      ...metrics.map((metric) => {
        const card = element('article', 'card');
        const note = element('small', '', metric.help);
        const title = element('h2', '', metric.metric);
        title.append(note);
        const chart = element('div', 'chart');
        chart.id = `chart-task-${metric.name}`;
        card.append(title, chart);
        taskCharts.set(metric.name, {
          chart: new Chart(taskChartSpec(metric), chart, history, () => windowSeconds),
          note,
        });
        return card;
      }),
    );
  };
  const base = location.pathname.replace(/\/+$/, '');
  const footer = byId('footer');
  footer.append('Data: ');
  const link = document.createElement('a');
  link.href = `${base}/data`;
  link.textContent = `${base}/data`;
  footer.append(link, ' (one frame as JSON) and ', `${base}/events`, ' (a stream of frames)');

  const state: DashboardDebug = {
    frames: 0,
    connects: 0,
    last: undefined,
    history,
    get charts() {
      const all = [...charts, ...[...taskCharts.values()].map(({ chart }) => chart)];
      return Object.fromEntries(all.map((chart) => [chart.spec.id, chart.plot]));
    },
  };
  window.__dashboard = state;

  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let backoff = 1000;
  let limitBefore: number | null = null;

  const render = (): void => {
    for (const chart of charts) chart.render();
    for (const { chart } of taskCharts.values()) chart.render();
    renderAdaptations(history.adaptations);
  };

  const setParam = (name: string, value: string | null): void => {
    if (value === null) params.delete(name);
    else params.set(name, value);
    window.history.replaceState(null, '', `${location.pathname}?${params.toString()}`);
  };

  const onFrame = (frame: DashboardFrame): void => {
    state.frames++;
    state.last = frame;
    renderSelector(frame, (choice) => {
      setParam('orchestrator', choice.name ?? '');
      setParam('prefix', choice.prefix);
      history.clear();
      limitBefore = null;
      connect();
    });
    const o = frame.orchestrator;
    if (o === null) {
      const wanted = params.get('orchestrator');
      setNotice(
        frame.orchestrators.length === 0
          ? 'No orchestrator on this registry yet.'
          : `No orchestrator named "${wanted ?? ''}" here; choose one above.`,
      );
      syncTaskCharts([]);
      history.gap();
      render();
      return;
    }
    setNotice(null);
    syncTaskCharts(o.taskMetrics);
    const time = frame.time / 1000;
    const w = o.window;
    const seconds = frame.seconds;
    const rate = (count: number): number | null => (w === null || !seconds ? null : count / seconds);
    const values: Record<string, number | null> = {
      limit: o.limit,
      inFlight: o.inFlight,
      threads: o.threads,
      queued: o.queued,
      'run:p50': w?.duration.p50 ?? null,
      'run:p99': w?.duration.p99 ?? null,
      'wait:p50': w?.wait.p50 ?? null,
      'wait:p99': w?.wait.p99 ?? null,
    };
    if (o.cpuLoad !== null) values['sys:cpu'] = o.cpuLoad * 100;
    if (o.gpuUtilization !== null) values['sys:gpu'] = o.gpuUtilization * 100;
    if (o.errorRate !== null) values['sys:errorRate'] = o.errorRate * 100;
    if (o.gpuWaitSeconds !== null) values['gpu:wait'] = o.gpuWaitSeconds;
    if (w !== null) {
      // Only outcomes that ever happened get a line; every task exports all six at zero.
      for (const [outcome, count] of Object.entries(w.outcomes)) {
        if ((o.total.outcomes[outcome] ?? 0) > 0) values[`out:${outcome}`] = rate(count);
      }
      for (const [type, count] of Object.entries(w.errors)) values[`err:${type}`] = rate(count);
      for (const change of w.limitChanges) {
        history.adapt({ time, ...change, from: limitBefore, to: o.limit });
      }
    }
    for (const metric of o.taskMetrics) {
      const { values: own, shown } = taskMetricValues(metric, seconds);
      Object.assign(values, own);
      const note = taskCharts.get(metric.name)?.note;
      if (note !== undefined) {
        const more =
          shown < metric.series.length ? ` · the ${shown} largest of ${metric.series.length} series` : '';
        note.textContent = `${metric.type}: ${metric.help}${more}`;
      }
    }
    limitBefore = o.limit;
    history.push(time, values);
    render();
    renderTiles(o, seconds);
    renderBreakdown(o, seconds);
    renderLoads(o);
  };

  const connect = (): void => {
    source?.close();
    clearTimeout(retry);
    const query = new URLSearchParams({ interval: String(intervalMs) });
    for (const name of ['orchestrator', 'prefix']) {
      const value = params.get(name);
      if (value !== null) query.set(name, value);
    }
    const stream = new EventSource(`${base}/events?${query.toString()}`);
    source = stream;
    stream.onopen = () => {
      state.connects++;
      backoff = 1000;
      setStatus('live', 'live');
    };
    stream.onmessage = (event: MessageEvent<string>) => {
      onFrame(JSON.parse(event.data) as DashboardFrame);
      setStatus(`live · ${formatClock(Date.now())}`, 'live');
    };
    stream.addEventListener('failure', (event) => {
      const { message } = JSON.parse((event as MessageEvent<string>).data) as { message: string };
      setNotice(`The registry could not be read: ${message}`);
    });
    stream.onerror = () => {
      setStatus('reconnecting…', 'down');
      history.gap();
      render();
      // The browser retries a dropped stream by itself; one it gave up on (an HTTP error) we retry.
      if (stream.readyState === EventSource.CLOSED && source === stream) {
        retry = setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 15_000);
      }
    };
  };

  windowSelect.onchange = () => {
    windowSeconds = Number(windowSelect.value);
    setParam('window', windowSelect.value);
    render();
  };
  byId<HTMLSelectElement>('breakdown').onchange = () => {
    if (state.last?.orchestrator) renderBreakdown(state.last.orchestrator, state.last.seconds);
  };
  window.addEventListener('resize', () => {
    for (const chart of charts) chart.resize();
    for (const { chart } of taskCharts.values()) chart.resize();
  });
  render();
  connect();
})();
