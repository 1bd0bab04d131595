import type { Server } from 'node:http';
import type { JobEvent } from '../bullmq/job-processor.js';
import { OrchestratorError } from '../errors.js';
import type { OrchestratorWarning } from '../orchestrator/adaptation.js';
import { UsageError } from './args.js';
import { listenMetrics } from './io.js';
import { fromFlags, poolOptions } from './pool-flags.js';
import type { NodeCommand } from './queue-args.js';
import { loadQueueModule, redact } from './remote-run.js';
import { durationQuantiles, Progress, summary, warningLine } from './report.js';
import { stopOnSignals } from './stop.js';

/** The same Redis error is printed at most this often, so a Redis outage is a few lines, not a flood. */
const REPEAT_MS = 10_000;

/**
 * `orchestrator node <module> --redis URL --queue NAME`: runs a QueueNode until SIGINT or SIGTERM,
 * then closes it (held jobs finish, or go back to the queue) and exits 0. It shows progress on
 * stderr and serves metrics on --metrics-port.
 * @throws UsageError for bad flags, missing peer dependencies, or a Redis that refuses the login
 *   or cannot be reached at start-up.
 */
export async function runNode(command: NodeCommand): Promise<number> {
  const { QueueNode } = await loadQueueModule();
  const node = fromFlags(
    () =>
      new QueueNode({
        ...poolOptions(command),
        queue: command.queue,
        connection: command.redis,
        ...(command.name === undefined ? {} : { nodeName: command.name }),
        ...(command.prefix === undefined ? {} : { prefix: command.prefix }),
        ...(command.lockDurationMs === undefined ? {} : { lockDurationMs: command.lockDurationMs }),
        ...(command.stalledIntervalMs === undefined ? {} : { stalledIntervalMs: command.stalledIntervalMs }),
      }),
  );
  const shown = new Map<string, number>();
  node.on('error', (error: Error) => {
    const last = shown.get(error.message) ?? 0;
    if (Date.now() - last < REPEAT_MS) return;
    shown.set(error.message, Date.now());
    process.stderr.write(`orchestrator: redis: ${error.message}\n`);
  });
  const stop = new AbortController();
  const removeSignalHandlers = stopOnSignals(stop);
  const progress = new Progress(process.stderr, () => ({
    inFlight: node.jobsActive,
    limit: node.orchestrator.limit,
  }));
  node.on('job', (event: JobEvent) => {
    if (event.outcome === 'handed_back') return;
    progress.done += event.items;
    progress.failed += event.errors;
  });
  node.orchestrator.on('adapt', () => progress.limitChanges++);
  // One plain line on stderr, not Node's process warning with its --trace-warnings hint.
  node.orchestrator.on('warning', (warning: OrchestratorWarning) =>
    process.stderr.write(warningLine(warning)),
  );
  let server: Server | undefined;
  let quantiles: { p50?: number; p99?: number } = {};
  try {
    try {
      await node.ready();
    } catch (error) {
      if (error instanceof OrchestratorError)
        throw new UsageError(`--redis ${redact(command.redis)}: ${error.message}`);
      throw error;
    }
    const registry = node.orchestrator.registry;
    if (command.metricsPort !== undefined && registry !== undefined) {
      server = await listenMetrics(registry, command.metricsPort, () => !stop.signal.aborted);
    }
    process.stderr.write(
      `node ${node.name}: consuming queue "${command.queue}" on ${redact(command.redis)}, limit ${node.orchestrator.limit}; SIGINT or SIGTERM stops it\n`,
    );
    progress.start();
    await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
    process.stderr.write(`node ${node.name}: stopping; finishing the jobs it holds\n`);
  } finally {
    progress.stop();
    removeSignalHandlers();
    server?.close();
    // Closing removes the node's metrics: read the latencies while the last jobs finish.
    const registry = node.orchestrator.registry;
    const closed = node.close();
    node.on('job', () => void readQuantiles());
    const readQuantiles = async (): Promise<void> => {
      const read = registry === undefined ? {} : await durationQuantiles(registry);
      if (read.p50 !== undefined) quantiles = read;
    };
    await readQuantiles();
    await closed;
  }
  process.stderr.write(`${await summary(progress, undefined, quantiles)}\n`);
  return 0;
}
