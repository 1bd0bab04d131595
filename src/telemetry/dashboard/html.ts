/**
 * The dashboard page's markup and style. Scripts are inlined by `page.ts`; the page loads
 * nothing else but its own data stream.
 * @internal
 * @module
 */

const STYLE = `
:root {
  --bg: #f4f5f7; --card: #fff; --text: #1c2330; --muted: #667085; --line: #e4e7ec;
  --accent: #4f46e5; --up: #15803d; --down: #c2410c; --bad: #dc2626;
  color-scheme: light;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
header {
  display: flex; align-items: center; gap: 18px; flex-wrap: wrap;
  padding: 12px 24px; background: #111827; color: #f9fafb;
}
header h1 { font-size: 16px; font-weight: 600; margin: 0 12px 0 0; letter-spacing: .2px; }
header h1 span { color: #a5b4fc; font-weight: 500; }
header label { color: #d1d5db; font-size: 13px; display: flex; gap: 6px; align-items: center; }
select {
  font: inherit; font-size: 13px; padding: 3px 6px; border-radius: 6px;
  border: 1px solid #d0d5dd; background: #fff; color: var(--text);
}
header select { background: #1f2937; color: #f9fafb; border-color: #374151; }
.status { margin-left: auto; font-size: 13px; color: #d1d5db; display: flex; align-items: center; gap: 6px; }
.status::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #9ca3af; }
.status.live::before { background: #22c55e; box-shadow: 0 0 0 3px rgba(34,197,94,.25); }
.status.down::before { background: #f59e0b; }
main { padding: 18px 24px 24px; max-width: 1600px; margin: 0 auto; }
.notice {
  margin: 0 0 14px; padding: 10px 14px; border-radius: 8px;
  background: #fff7ed; border: 1px solid #fed7aa; color: #9a3412;
}
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(118px, 1fr)); gap: 10px; margin-bottom: 14px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 9px 12px; }
.tile .label { font-size: 11px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted); }
.tile .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tile .sub { font-size: 12px; color: var(--muted); white-space: nowrap; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 14px; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 14px 8px; min-width: 0;
}
.card h2 {
  font-size: 13px; font-weight: 600; margin: 0 0 6px; color: #344054;
  display: flex; align-items: center; gap: 8px;
}
.card h2 small { font-weight: 400; color: var(--muted); }
.chart { width: 100%; min-height: 230px; }
.chart .uplot { width: 100%; }
.u-legend { font-size: 12px; }
.u-legend .u-series > * { padding: 2px 4px; }
.empty { color: var(--muted); font-size: 13px; padding: 80px 0; text-align: center; }
.wide { margin-top: 14px; }
ol.events { list-style: none; margin: 0; padding: 0; max-height: 262px; overflow: auto; font-size: 13px; }
ol.events li { display: grid; grid-template-columns: 70px 22px 70px 1fr; gap: 6px; padding: 4px 2px; border-bottom: 1px solid var(--line); }
ol.events li:last-child { border-bottom: 0; }
ol.events li.empty { display: block; padding: 40px 0; border-bottom: 0; }
ol.events .time { color: var(--muted); font-variant-numeric: tabular-nums; }
ol.events .up { color: var(--up); font-weight: 700; }
ol.events .down { color: var(--down); font-weight: 700; }
ol.events .reason code { background: #f2f4f7; border-radius: 4px; padding: 0 5px; }
table { width: 100%; border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
tbody tr:last-child td { border-bottom: 0; }
td.bad { color: var(--bad); }
.tasks { margin-top: 14px; }
h2.section { font-size: 14px; font-weight: 600; margin: 4px 0 10px; color: #344054; }
h2.section small { font-weight: 400; color: var(--muted); }
footer { color: var(--muted); font-size: 12px; padding: 0 24px 18px; text-align: center; }
footer a { color: var(--accent); }
`;

const BODY = `
<header>
  <h1>node-orchestrator <span>dashboard</span></h1>
  <label>orchestrator <select id="orchestrator"></select></label>
  <label>last <select id="window">
    <option value="60">1 minute</option>
    <option value="300" selected>5 minutes</option>
    <option value="900">15 minutes</option>
  </select></label>
  <span id="status" class="status">connecting…</span>
</header>
<main>
  <p id="notice" class="notice" hidden></p>
  <section id="tiles" class="tiles"></section>
  <section class="grid">
    <article class="card"><h2>Concurrency <small>limit, with each adaptation and its reason</small></h2><div class="chart" id="chart-concurrency"></div></article>
    <article class="card"><h2>Throughput <small>settled runs per second, by outcome</small></h2><div class="chart" id="chart-throughput"></div></article>
    <article class="card"><h2>Latency <small>task run time and queue wait, p50 / p99</small></h2><div class="chart" id="chart-latency"></div></article>
    <article class="card"><h2>Errors <small>failed runs per second, by type</small></h2><div class="chart" id="chart-errors"></div></article>
    <article class="card"><h2>Machine <small>CPU load, GPU utilization, error rate</small></h2><div class="chart" id="chart-machine"></div></article>
    <article class="card"><h2>Adaptations <small>newest first</small></h2><ol class="events" id="adaptations"></ol></article>
  </section>
  <section id="task-metrics-section" class="tasks" hidden><h2 class="section">Task metrics <small>what the tasks record through ctx.metrics</small></h2><div class="grid" id="task-metrics"></div></section>
  <section id="loads-section" class="card wide" hidden><h2>Tenants and resources <small>now</small></h2><table id="loads-table"></table></section>
  <section class="card wide"><h2>By <select id="breakdown"></select> <small id="breakdown-note"></small></h2><table id="breakdown-table"></table></section>
</main>
<footer id="footer"></footer>
`;

/** The page: uPlot's style and ours, the body, then the scripts in order. */
export function renderPage(parts: { uplotCss: string; scripts: readonly string[] }): string {
  const scripts = parts.scripts.map((script) => `<script>${script}</script>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>node-orchestrator dashboard</title>
<link rel="icon" href="data:,">
<style>${parts.uplotCss}</style>
<style>${STYLE}</style>
</head>
<body>${BODY}
${scripts}
</body>
</html>
`;
}
