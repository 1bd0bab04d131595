import { type Command, InvalidArgumentError, Option } from 'commander';

/** What `orchestrator node` was asked to do. */
export interface NodeCommand {
  kind: 'node';
  module: string;
  redis: string;
  queue: string;
  base: number | undefined;
  min: number | undefined;
  max: number | undefined;
  controller: 'threshold' | 'gradient';
  metricsPort: number | undefined;
  name: string | undefined;
  prefix: string | undefined;
  lockDurationMs: number | undefined;
  stalledIntervalMs: number | undefined;
}

/** A `--redis` value: a redis:// or rediss:// URL, checked here so a typo is a usage error. */
export function redisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a redis:// or rediss:// URL, got "${value}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidArgumentError(`expected a redis:// or rediss:// URL, got "${value}"`);
  }
  return value;
}

/**
 * Adds `orchestrator node <module> --redis URL --queue NAME …` to the program; `parsed` gets the
 * command once commander has checked it.
 */
export function addNodeCommand(
  program: Command,
  parse: { integer: (value: string) => number; port: (value: string) => number },
  parsed: (command: NodeCommand) => void,
): void {
  program
    .command('node')
    .description(
      'consume a BullMQ queue on Redis and run its jobs with a worker module, until SIGINT/SIGTERM',
    )
    .argument(
      '<module>',
      'the worker module (a file exporting defineTask tasks), or a shipped worker: text, image',
    )
    .requiredOption(
      '--redis <url>',
      'Redis: redis://[user:password@]host:port[/db], or rediss:// for TLS',
      redisUrl,
    )
    .requiredOption('--queue <name>', 'the BullMQ queue to consume')
    .option('--base <n>', 'starting concurrency limit', parse.integer)
    .option('--min <n>', 'lowest concurrency limit', parse.integer)
    .option('--max <n>', 'highest concurrency limit', parse.integer)
    .addOption(
      new Option('--controller <name>', 'adaptive controller')
        .choices(['threshold', 'gradient'])
        .default('threshold'),
    )
    .option(
      '--metrics-port <port>',
      'serve /metrics, /healthz and /readyz on 127.0.0.1 at this port',
      parse.port,
    )
    .option('--name <name>', "this node's name (the `node` label of its metrics)")
    .option('--prefix <prefix>', "BullMQ's key prefix", undefined)
    .option('--lock-duration-ms <ms>', 'how long a job lock lasts without renewal', parse.integer)
    .option('--stalled-interval-ms <ms>', 'how often jobs of lost nodes are looked for', parse.integer)
    .action((module: string, options: Record<string, unknown>) => {
      parsed({
        kind: 'node',
        module,
        redis: options['redis'] as string,
        queue: options['queue'] as string,
        base: options['base'] as number | undefined,
        min: options['min'] as number | undefined,
        max: options['max'] as number | undefined,
        controller: options['controller'] as 'threshold' | 'gradient',
        metricsPort: options['metricsPort'] as number | undefined,
        name: options['name'] as string | undefined,
        prefix: options['prefix'] as string | undefined,
        lockDurationMs: options['lockDurationMs'] as number | undefined,
        stalledIntervalMs: options['stalledIntervalMs'] as number | undefined,
      });
    });
}
