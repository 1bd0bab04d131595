/**
 * The service bench's overload run: 10× the measured capacity of a route, offered open loop by
 * autocannon, with a health checker in a process of its own and the server's own timing
 * (bench/fixtures/service-timing.mjs) beside autocannon's.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import type { Service } from '../../test/support/service.js';
import { percentile } from './compare.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** Requests sent this long after the flood began are past its connection storm. */
const STEADY_AFTER_MS = 2000;

/** Percentiles of one kind of answer, in milliseconds. */
export interface Latency {
  count: number;
  p50: number;
  p99: number;
}

/** The server's own view: per `path status`, and its event loop's delay. */
export interface ServerTiming {
  routes: Record<string, Latency & { max: number }>;
  eventLoopDelay: { p50: number; p99: number; max: number };
}

/** What one flood measured. */
export interface OverloadReport {
  capacityPerSecond: number;
  offeredPerSecond: number;
  /** autocannon instances the offered rate is split into, started evenly over a second. */
  phases: number;
  achievedPerSecond: number;
  okPerSecond: number;
  shedShare: number;
  /** As autocannon saw them: from writing the request to parsing the answer. */
  shed: Latency;
  ok: Latency;
  /** From a health checker in its own process, every 50 ms. */
  healthz: Latency;
  /** The server's own timing of the same flood. */
  server: ServerTiming;
  /** The load generator's (this process's) event loop delay during the flood, in milliseconds. */
  clientEventLoopDelay: { p50: number; p99: number; max: number };
  /** CPU seconds per second of flood: this process (autocannon), the server's main thread, its other threads. */
  cpu: { client: number; serverMain: number; serverOther: number };
  /** Connections the kernel dropped for a full listen queue during the flood (machine-wide). */
  listenOverflows: number;
  /**
   * autocannon's latency of the 503s sent once every connection is open (from the flood's
   * third second on): without the connection storm of the start, whose SYNs a full listen
   * queue drops and the client resends a second later.
   */
  shedSteady: Latency;
  errors: number;
  rssMiB: { before: number; afterFlood: number; settled: number };
}

/** The kernel's count of connections dropped because a listen queue was full (all sockets). */
export function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const header = lines.find((l) => l.startsWith('TcpExt:'))?.split(' ') ?? [];
  const values = lines.filter((l) => l.startsWith('TcpExt:'))[1]?.split(' ') ?? [];
  return Number(values[header.indexOf('ListenOverflows')] ?? Number.NaN);
}

/**
 * CPU seconds used so far by a process's main thread (its pid), and by its other threads: the
 * process's total (which keeps the time of threads that have ended) less the main thread's.
 */
export function threadCpu(pid: number): { main: number; other: number } {
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const seconds = (path: string): number => {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ on Linux
  };
  const main = seconds(`/proc/${pid}/task/${pid}/stat`);
  return { main, other: seconds(`/proc/${pid}/stat`) - main };
}

/** The resident set of a process, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Math.round(Number(line?.replace(/\D+/g, '') ?? 0) / 1024);
}

function latency(values: number[]): Latency {
  if (values.length === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN };
  return { count: values.length, p50: percentile(values, 50), p99: percentile(values, 99) };
}

/** Runs the health checker child for `durationMs`; resolves with its latencies. */
function probeHealthz(port: number, durationMs: number): Promise<number[]> {
  const child = spawn(
    process.execPath,
    [fixture('healthz-probe.mjs'), String(port), '/healthz', '50', String(durationMs)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(output) as number[])
        : reject(new Error(`healthz probe exited ${code}`)),
    );
  });
}

/** Asks the service's timing preload to start recording, or to stop and print what it saw. */
async function serverTiming(service: Service, action: 'start' | 'stop'): Promise<ServerTiming | undefined> {
  if (action === 'start') {
    service.child.kill('SIGUSR1');
    return undefined;
  }
  const from = service.output().length;
  service.child.kill('SIGUSR2');
  for (;;) {
    const match = /service-timing (\{.*\})\n/.exec(service.output().slice(from));
    if (match?.[1] !== undefined) return JSON.parse(match[1]) as ServerTiming;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Floods `url` (POST, JSON `body`) at 10 × `capacity` for `seconds`. autocannon limits each
 * connection to whole requests per second, refilled on a timer started with the connection:
 * one instance sends all of a second's requests in one burst as its timers fire together. So the
 * rate is split over `phases` instances started evenly over a second; phases 1 is the burst.
 */
export async function measureOverload(
  service: Service,
  url: string,
  body: unknown,
  options: { capacity: number; seconds: number; phases: number },
): Promise<OverloadReport> {
  const { capacity, seconds, phases } = options;
  const pid = service.child.pid!;
  const before = rssMiB(pid);
  const shed: number[] = [];
  const ok: number[] = [];
  const offered = Math.round(10 * capacity);
  await serverTiming(service, 'start');
  const clientLoop = monitorEventLoopDelay({ resolution: 1 });
  clientLoop.enable();
  const clientBefore = process.cpuUsage();
  const serverBefore = threadCpu(pid);
  const startedAt = performance.now();
  const overflowsBefore = listenOverflows();
  const shedSteady: number[] = [];
  const healthz = probeHealthz(service.port, seconds * 1000);
  const floods: Promise<Result>[] = [];
  for (let phase = 0; phase < phases; phase++) {
    const rate = Math.floor(offered / phases) + (phase < offered % phases ? 1 : 0);
    floods.push(
      new Promise((resolve, reject) => {
        const instance = autocannon(
          {
            url,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
            timeout: 30,
            // One request per second per connection; one whose answer is late sends its next on
            // the next tick after it, so the rate reached is reported beside the rate offered.
            connections: rate,
            overallRate: rate,
            duration: seconds,
          },
          (error, result) => (error ? reject(error) : resolve(result)),
        );
        instance.on('response', (_client, status, _bytes, ms) => {
          (status === 503 ? shed : ok).push(ms);
          if (status === 503 && performance.now() - ms - startedAt >= STEADY_AFTER_MS) shedSteady.push(ms);
        });
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000 / phases));
  }
  const results = await Promise.all(floods);
  const elapsed = (performance.now() - startedAt) / 1000;
  const overflows = listenOverflows() - overflowsBefore;
  const client = process.cpuUsage(clientBefore);
  const serverAfter = threadCpu(pid);
  clientLoop.disable();
  const timing = (await serverTiming(service, 'stop'))!;
  const healthzLatencies = await healthz;
  const afterFlood = rssMiB(pid);
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const settled = rssMiB(pid);
  const duration = Math.max(...results.map((r) => r.duration));
  const answered = shed.length + ok.length;
  return {
    capacityPerSecond: capacity,
    offeredPerSecond: offered,
    phases,
    achievedPerSecond: answered / duration,
    okPerSecond: ok.length / duration,
    shedShare: answered === 0 ? 0 : shed.length / answered,
    shed: latency(shed),
    ok: latency(ok),
    healthz: latency(healthzLatencies),
    server: timing,
    clientEventLoopDelay: {
      p50: clientLoop.percentile(50) / 1e6,
      p99: clientLoop.percentile(99) / 1e6,
      max: clientLoop.max / 1e6,
    },
    cpu: {
      client: (client.user + client.system) / 1e6 / elapsed,
      serverMain: (serverAfter.main - serverBefore.main) / elapsed,
      serverOther: (serverAfter.other - serverBefore.other) / elapsed,
    },
    listenOverflows: overflows,
    shedSteady: latency(shedSteady),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    rssMiB: { before, afterFlood, settled },
  };
}
