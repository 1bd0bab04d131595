import { Orchestrator } from 'node-orchestrator';
const work = Number(process.argv[3] ?? 300000);
async function trial(label, options) {
  const o = new Orchestrator({ worker: new URL('./bench/fixtures/tasks.mjs', import.meta.url), ...options });
  let running = true, done = 0; const windows = [];
  const loops = Array.from({ length: 64 }, async () => { while (running) { await o.run('cpu', work); done++; } });
  let last = 0;
  for (let i = 0; i < 9; i++) { await new Promise(r => setTimeout(r, 500)); windows.push(`${(done - last) * 2}@${o.limit}/${o.threads}`); last = done; }
  running = false; await Promise.all(loops); await o.close();
  console.log(label.padEnd(12), windows.join(' '));
}
const mode = process.argv[2];
if (mode === 'fixed') await trial('fixed4', { baseLimit: 4, minLimit: 4, maxLimit: 4, adaptive: false });
else if (mode === 'fixed-sampler') await trial('fixed4+smp', { baseLimit: 4, minLimit: 4, maxLimit: 4, adaptive: true, controller: { name: 'hold', decide: (s) => ({ limit: s.limit, reason: 'hold' }) }, adaptationIntervalMs: 250 });
else await trial(mode, { baseLimit: 4, minLimit: 1, maxLimit: 8, controller: mode, adaptationIntervalMs: 250 });
