import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { addNodeCommand, redisUrl, type NodeCommand } from './queue-args.js';

/** A command line that cannot run: exit code 2, with the message. */
export class UsageError extends Error {
  override get name(): string {
    return 'UsageError';
  }
}

/** What `orchestrator run` was asked to do. */
export interface RunCommand {
  kind: 'run';
  module: string;
  /** The tasks to run, in order: one is a map, several a pipeline (each output the next input). */
  tasks: readonly string[];
  input: string;
  output: string;
  ordered: boolean;
  base: number | undefined;
  min: number | undefined;
  max: number | undefined;
  controller: 'threshold' | 'gradient';
  metricsPort: number | undefined;
  batchSize: number;
  /** With --redis: submit to this Redis's --queue instead of a local pool. */
  redis: string | undefined;
  queue: string | undefined;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

function port(value: string): number {
  const n = integer(value);
  // Checked here, not at listen(): past 65535 Node throws a RangeError with a stack trace.
  if (n > 65535) throw new InvalidArgumentError(`expected a port number from 0 to 65535, got "${value}"`);
  return n;
}

/**
 * Parses the command line (without `node` and the script) into a {@link RunCommand} or a
 * {@link NodeCommand}.
 * @throws UsageError for an unknown option, a missing argument or a bad value.
 * @returns undefined when help or the version was printed.
 */
export function parseArgs(
  argv: readonly string[],
  write: (text: string) => void,
): RunCommand | NodeCommand | undefined {
  let parsed: RunCommand | NodeCommand | undefined;
  const program = new Command('orchestrator')
    .description('Run CPU-bound tasks over JSON lines on an adaptive worker pool')
    .exitOverride()
    .configureOutput({ writeOut: write, writeErr: () => undefined })
    .showHelpAfterError(false);
  program
    .command('run')
    .description('map a worker task over JSON lines: one input line in, one output line out')
    .argument(
      '<module>',
      'the worker module (a file exporting defineTask tasks), or a shipped worker: text, image',
    )
    .requiredOption(
      '--task <export>',
      'the task to run; repeat it to chain tasks (each output is the next input, fused in the worker)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--input <file>', 'JSON lines to read, or - for stdin', '-')
    .option('--output <file>', 'where to write results, or - for stdout', '-')
    .option('--ordered', 'write results in input order', false)
    .option('--base <n>', 'starting concurrency limit', integer)
    .option('--min <n>', 'lowest concurrency limit', integer)
    .option('--max <n>', 'highest concurrency limit', integer)
    .addOption(
      new Option('--controller <name>', 'adaptive controller')
        .choices(['threshold', 'gradient'])
        .default('threshold'),
    )
    .option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on 127.0.0.1 at this port', port)
    .option(
      '--batch-size <n>',
      'most records per batch sent to a worker (with --redis: per job)',
      integer,
      512,
    )
    .option(
      '--redis <url>',
      'submit to a queue on this Redis (nodes run the tasks) instead of a local pool',
      redisUrl,
    )
    .option('--queue <name>', 'the BullMQ queue, with --redis')
    .action((module: string, options: Record<string, unknown>) => {
      parsed = {
        kind: 'run',
        module,
        tasks: options['task'] as string[],
        input: options['input'] as string,
        output: options['output'] as string,
        ordered: options['ordered'] === true,
        base: options['base'] as number | undefined,
        min: options['min'] as number | undefined,
        max: options['max'] as number | undefined,
        controller: options['controller'] as 'threshold' | 'gradient',
        metricsPort: options['metricsPort'] as number | undefined,
        batchSize: options['batchSize'] as number,
        redis: options['redis'] as string | undefined,
        queue: options['queue'] as string | undefined,
      };
    });
  addNodeCommand(program, { integer, port }, (command) => (parsed = command));
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.help' ||
        error.code === 'commander.version'
      ) {
        return undefined;
      }
      throw new UsageError(error.message.replace(/^error: /, ''));
    }
    throw error;
  }
  if (parsed === undefined) throw new UsageError(`no command given; try "orchestrator run --help"`);
  return parsed;
}
