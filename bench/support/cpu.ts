/**
 * CPU time per item, split between the main thread and every other thread of the process (pool
 * or bare worker threads, V8's GC helpers), read from Linux's /proc/self/task. Unlike a
 * throughput ratio, it holds on a busy machine: another process can delay our threads, but not
 * make them use more CPU for the same work.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { median, type Contender } from './compare.js';

/** CPU microseconds per item: main thread, other threads, and both. */
export interface CpuPerItem {
  name: string;
  mainUs: number;
  otherUs: number;
  totalUs: number;
}

/** Clock ticks per second of /proc's utime/stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU ms used so far by the main thread and by all threads of this process. */
function cpuMs(): { main: number; all: number } {
  let main = 0;
  let all = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
    all += ms;
    if (tid === String(process.pid)) main += ms;
  }
  return { main, all };
}

/**
 * Runs each contender `reps` times per round, for `rounds` rounds in alternating order, and
 * reports the median CPU per item; undefined where /proc is not available. Ticks are 10 ms, so
 * `reps × itemsPerOp` items should take a second or more.
 */
export async function cpuPerItem(
  contenders: readonly Contender[],
  itemsPerOp: number,
  reps: number,
  rounds = 3,
): Promise<CpuPerItem[] | undefined> {
  if (!existsSync('/proc/self/task')) return undefined;
  const samples = new Map<string, { main: number; total: number }[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const contender of round % 2 === 0 ? contenders : [...contenders].reverse()) {
      const before = cpuMs();
      for (let i = 0; i < reps; i++) await contender.run();
      const after = cpuMs();
      const items = reps * itemsPerOp;
      samples.get(contender.name)!.push({
        main: ((after.main - before.main) * 1000) / items,
        total: ((after.all - before.all) * 1000) / items,
      });
    }
  }
  return contenders.map(({ name }) => {
    const rows = samples.get(name)!;
    const mainUs = median(rows.map((r) => r.main));
    const totalUs = median(rows.map((r) => r.total));
    return { name, mainUs, otherUs: totalUs - mainUs, totalUs };
  });
}

/** The CPU table; the first row is the baseline of "CPU efficiency" (its CPU ÷ each row's). */
export function cpuMarkdown(rows: readonly CpuPerItem[]): string {
  const base = rows[0]!.totalUs;
  return [
    '| contender | main thread µs/item | other threads µs/item | total µs/item | CPU efficiency |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.mainUs.toFixed(1)} | ${r.otherUs.toFixed(1)} | ${r.totalUs.toFixed(1)} | ${(base / r.totalUs).toFixed(2)} |`,
    ),
  ].join('\n');
}
