import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** A command line that cannot run: exit code 2, with the message. */
export class UsageError extends Error {
  override get name(): string {
    return 'UsageError';
  }
}

/** What `orchestrator run` was asked to do. */
export interface RunCommand {
  module: string;
  task: string;
  input: string;
  output: string;
  ordered: boolean;
  base: number | undefined;
  min: number | undefined;
  max: number | undefined;
  controller: 'threshold' | 'gradient';
  metricsPort: number | undefined;
  batchSize: number;
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
 * Parses the command line (without `node` and the script) into a {@link RunCommand}.
 * @throws UsageError for an unknown option, a missing argument or a bad value.
 * @returns undefined when help or the version was printed.
 */
export function parseArgs(argv: readonly string[], write: (text: string) => void): RunCommand | undefined {
  let parsed: RunCommand | undefined;
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
    .requiredOption('--task <export>', 'the task to run')
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
    .option('--batch-size <n>', 'most records per batch sent to a worker', integer, 512)
    .action((module: string, options: Record<string, unknown>) => {
      parsed = {
        module,
        task: options['task'] as string,
        input: options['input'] as string,
        output: options['output'] as string,
        ordered: options['ordered'] === true,
        base: options['base'] as number | undefined,
        min: options['min'] as number | undefined,
        max: options['max'] as number | undefined,
        controller: options['controller'] as 'threshold' | 'gradient',
        metricsPort: options['metricsPort'] as number | undefined,
        batchSize: options['batchSize'] as number,
      };
    });
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
