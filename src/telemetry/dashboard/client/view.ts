// The dashboard's text: status, notices, tiles, the adaptation list and the breakdown table.

/** An element of the page by id (the markup is ours, so a missing one is a bug). */
function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`dashboard: no #${id} in the page`);
  return element as T;
}

/** Creates an element with a class and text. */
function element(tag: string, className: string, text = ''): HTMLElement {
  const node = document.createElement(tag);
  if (className !== '') node.className = className;
  node.textContent = text;
  return node;
}

function setStatus(text: string, state: 'live' | 'down' | ''): void {
  const status = byId('status');
  status.textContent = text;
  status.className = `status ${state}`;
}

function setNotice(text: string | null): void {
  const notice = byId('notice');
  notice.hidden = text === null;
  notice.textContent = text ?? '';
}

/** What an orchestrator is called in the selector: its name, with its prefix if that is not the default. */
function orchestratorLabel(o: { prefix: string; name: string | null }): string {
  const name = o.name ?? '(unnamed)';
  return o.prefix === 'orchestrator_' ? name : `${name} · ${o.prefix}`;
}

/** Fills the orchestrator selector; `onChoose` gets the chosen one. */
function renderSelector(
  frame: DashboardFrame,
  onChoose: (choice: { prefix: string; name: string | null }) => void,
): void {
  const select = byId<HTMLSelectElement>('orchestrator');
  const options = frame.orchestrators.map((o) => JSON.stringify([o.prefix, o.name]));
  const current = frame.orchestrator && JSON.stringify([frame.orchestrator.prefix, frame.orchestrator.name]);
  if (select.dataset['options'] !== options.join('\n')) {
    select.dataset['options'] = options.join('\n');
    select.replaceChildren(
      ...frame.orchestrators.map((o, i) => {
        const option = new Option(orchestratorLabel(o), options[i]);
        return option;
      }),
    );
    select.onchange = () => {
      const [prefix, name] = JSON.parse(select.value) as [string, string | null];
      onChoose({ prefix, name });
    };
  }
  if (current !== null) select.value = current;
  select.disabled = frame.orchestrators.length < 2;
}

interface Tile {
  label: string;
  value: (o: OrchestratorFrame, rate: (count: number) => number | null) => string;
  sub?: (o: OrchestratorFrame, rate: (count: number) => number | null) => string;
}

const TILES: Tile[] = [
  { label: 'limit', value: (o) => formatNumber(o.limit), sub: (o) => `min ${formatNumber(o.minLimit)}` },
  { label: 'in flight', value: (o) => formatNumber(o.inFlight), sub: () => 'running or starting' },
  { label: 'queued', value: (o) => formatNumber(o.queued), sub: () => 'waiting for a slot' },
  { label: 'threads', value: (o) => formatNumber(o.threads), sub: () => 'worker threads' },
  {
    label: 'throughput',
    value: (o, rate) => `${formatNumber(rate(sumValues(o.window?.outcomes ?? {})))}/s`,
    sub: (o) => `${formatNumber(sumValues(o.total.outcomes))} runs in all`,
  },
  {
    label: 'run p50 / p99',
    value: (o) => formatSeconds(o.window?.duration.p50),
    sub: (o) => `p99 ${formatSeconds(o.window?.duration.p99)}`,
  },
  {
    label: 'wait p99',
    value: (o) => formatSeconds(o.window?.wait.p99),
    sub: (o) => `p50 ${formatSeconds(o.window?.wait.p50)}`,
  },
  {
    label: 'errors',
    value: (o, rate) => `${formatNumber(rate(sumValues(o.window?.errors ?? {})))}/s`,
    sub: (o) => `${formatNumber(sumValues(o.total.errors))} in all`,
  },
  {
    label: 'CPU load',
    value: (o) => formatRatio(o.cpuLoad),
    sub: (o) => `error rate ${formatRatio(o.errorRate)}`,
  },
  {
    label: 'GPU',
    value: (o) => formatRatio(o.gpuUtilization),
    sub: (o) => (o.gpuUtilization === null ? 'none detected' : `wait ${formatSeconds(o.gpuWaitSeconds)}`),
  },
];

function renderTiles(o: OrchestratorFrame, seconds: number | null): void {
  const rate = (count: number): number | null => (seconds === null || seconds <= 0 ? null : count / seconds);
  const tiles = byId('tiles');
  if (tiles.childElementCount !== TILES.length) {
    tiles.replaceChildren(
      ...TILES.map((tile) => {
        const box = element('div', 'tile');
        box.append(element('div', 'label', tile.label), element('div', 'value'), element('div', 'sub'));
        return box;
      }),
    );
  }
  TILES.forEach((tile, i) => {
    const box = tiles.children[i];
    if (box === undefined) return;
    const [, value, sub] = box.children;
    if (value) value.textContent = tile.value(o, rate);
    if (sub) sub.textContent = tile.sub ? tile.sub(o, rate) : '';
  });
}

function renderAdaptations(adaptations: readonly Adaptation[]): void {
  const list = byId('adaptations');
  if (adaptations.length === 0) {
    list.replaceChildren(element('li', 'empty', 'no limit change yet'));
    return;
  }
  list.replaceChildren(
    ...adaptations
      .slice(-50)
      .reverse()
      .map((a) => {
        const item = document.createElement('li');
        const reason = element('span', 'reason');
        reason.append(element('code', '', a.reason));
        if (a.count > 1) reason.append(` ×${a.count}`);
        item.append(
          element('span', 'time', formatClock(a.time * 1000)),
          element('span', a.direction, a.direction === 'up' ? '▲' : '▼'),
          element('span', '', `${formatNumber(a.from)} → ${formatNumber(a.to)}`),
          reason,
        );
        return item;
      }),
  );
}

const BREAKDOWN_COLUMNS: [
  string,
  (row: { total: TaskStats; window: TaskStats | null }, seconds: number | null) => string,
][] = [
  ['runs/s', (r, s) => formatNumber(r.window && s ? sumValues(r.window.outcomes) / s : null)],
  ['errors/s', (r, s) => formatNumber(r.window && s ? sumValues(r.window.errors) / s : null)],
  ['run p50', (r) => formatSeconds(r.window?.duration.p50)],
  ['run p99', (r) => formatSeconds(r.window?.duration.p99)],
  ['wait p99', (r) => formatSeconds(r.window?.wait.p99)],
  ['mean run', (r) => formatSeconds(r.total.duration.mean)],
  ['runs', (r) => formatNumber(sumValues(r.total.outcomes))],
  ['errors', (r) => formatNumber(sumValues(r.total.errors))],
];

/** The table of one breakdown (by task today; by tenant or resource once they label the series). */
function renderBreakdown(o: OrchestratorFrame, seconds: number | null): void {
  const select = byId<HTMLSelectElement>('breakdown');
  const labels = Object.keys(o.breakdowns);
  if (select.dataset['options'] !== labels.join('\n')) {
    select.dataset['options'] = labels.join('\n');
    select.replaceChildren(...labels.map((label) => new Option(label, label)));
  }
  select.disabled = labels.length < 2;
  const label = select.value || labels[0] || 'task';
  const rows = [...(o.breakdowns[label] ?? [])].sort(
    (a, b) => sumValues(b.total.outcomes) - sumValues(a.total.outcomes),
  );
  byId('breakdown-note').textContent = 'rates over the last frame, totals since the start';
  const head = document.createElement('tr');
  head.append(element('th', '', label), ...BREAKDOWN_COLUMNS.map(([name]) => element('th', '', name)));
  const body = rows.map((row) => {
    const tr = document.createElement('tr');
    tr.append(element('td', '', row.key));
    for (const [name, cell] of BREAKDOWN_COLUMNS) {
      const td = element('td', '', cell(row, seconds));
      if (name.startsWith('errors') && sumValues(row.total.errors) > 0) td.className = 'bad';
      tr.append(td);
    }
    return tr;
  });
  const table = byId('breakdown-table');
  const thead = document.createElement('thead');
  thead.append(head);
  const tbody = document.createElement('tbody');
  tbody.append(...body);
  table.replaceChildren(thead, tbody);
}

/** Each tenant's runs and each resource's units now; hidden without tenants or resources. */
function renderLoads(o: OrchestratorFrame): void {
  const { tenants, resources } = o;
  byId('loads-section').hidden = tenants.length === 0 && resources.length === 0;
  const cells = (texts: readonly string[], tag: 'td' | 'th'): HTMLTableRowElement => {
    const tr = document.createElement('tr');
    tr.append(...texts.map((text) => element(tag, '', text)));
    return tr;
  };
  const count = (value: number | null): string => (value === null ? '–' : formatNumber(value));
  const thead = document.createElement('thead');
  thead.append(cells(['', 'name', 'running · in use', 'waiting · limit', 'longest wait'], 'th'));
  const tbody = document.createElement('tbody');
  for (const t of tenants)
    tbody.append(cells(['tenant', t.name, count(t.running), count(t.waiting), ''], 'td'));
  for (const r of resources) {
    const wait = r.waitSeconds === null ? '–' : formatSeconds(r.waitSeconds);
    tbody.append(cells(['resource', r.name, count(r.inUse), count(r.limit), wait], 'td'));
  }
  byId('loads-table').replaceChildren(thead, tbody);
}
