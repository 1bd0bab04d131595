import { MissingPeerError } from '../errors.js';
import type { RunCommand } from './args.js';
import { UsageError } from './args.js';
import type { RunBackend } from './backend.js';

/** Flags that configure a pool, which nodes own in a remote run. */
const NODE_FLAGS = [
  ['base', '--base'],
  ['min', '--min'],
  ['max', '--max'],
  ['metricsPort', '--metrics-port'],
] as const;

/**
 * Loads `node-orchestrator/bullmq` for a Redis command; without its peer dependencies, that is
 * a usage error naming what to install.
 */
export async function loadQueueModule(): Promise<typeof import('../bullmq/index.js')> {
  try {
    return await import('../bullmq/index.js');
  } catch (error) {
    if (error instanceof MissingPeerError) throw new UsageError(`--redis: ${error.message}`);
    throw error;
  }
}

/**
 * `orchestrator run … --redis URL --queue NAME`: a QueueClient as the run's backend. The records
 * go to the nodes in jobs of up to --batch-size; results come back as from a local run.
 * @throws UsageError for flags that belong to nodes, a missing --queue, or missing peers.
 */
export async function openRemote(command: RunCommand & { redis: string }): Promise<RunBackend> {
  if (command.queue === undefined) throw new UsageError('--redis needs --queue <name>');
  if (command.tasks.length > 1)
    throw new UsageError('--redis runs one --task; chaining tasks needs a local pool');
  for (const [field, flag] of NODE_FLAGS) {
    if (command[field] !== undefined) {
      throw new UsageError(`${flag} configures a pool; with --redis, give it to "orchestrator node"`);
    }
  }
  const { QueueClient } = await loadQueueModule();
  const client = new QueueClient({
    queue: command.queue,
    connection: command.redis,
    maxItemsPerJob: command.batchSize,
  });
  client.on('error', (error: Error) => process.stderr.write(`orchestrator: redis: ${error.message}\n`));
  try {
    await client.ready();
  } catch (error) {
    await client.close();
    throw new UsageError(`--redis ${redact(command.redis)}: ${(error as Error).message}`);
  }
  return {
    map: client.map.bind(client) as RunBackend['map'],
    registry: undefined,
    ready: () => true,
    state: () => ({ inFlight: client.jobsInFlight, limit: 0 }),
    onAdapt: () => undefined,
    close: () => client.close(),
  };
}

/** A Redis URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
