#!/usr/bin/env node
/**
 * The `orchestrator` command. `orchestrator run <module> --task <export>` maps a worker task
 * over JSON lines; `<module>` is a file, or `text` / `image` for the shipped workers. Exit codes: 0 every record succeeded, 1 some failed, 2 usage error,
 * 130 interrupted (SIGINT), 141 stdout closed early (e.g. `| head -1`), 143 terminated (SIGTERM).
 * @module
 */
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { InvalidConfigError } from '../errors.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import { parseArgs, UsageError, type RunCommand } from './args.js';
import { listenMetrics, openInput, openOutput, systemErrorText } from './io.js';
import { isMainModule } from './is-main.js';
import { jsonLines } from './json-lines.js';
import { runPipeline } from './pipeline.js';
import { SHIPPED_WORKERS, shippedWorker } from './shipped.js';
import { Progress, summary } from './report.js';
import { EXIT_BROKEN_PIPE, RunStopped, stopOnSignals } from './stop.js';

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const command = parseArgs(argv, (text) => process.stderr.write(text));
    if (command === undefined) return 0;
    const worker = shippedWorker(command.module) ?? command.module;
    if (typeof worker === 'string' && !existsSync(resolve(worker)))
      throw new UsageError(
        `module not found: ${command.module} (nor is it a shipped worker: ${Object.keys(SHIPPED_WORKERS).join(', ')})`,
      );
    return await run(command, worker);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`orchestrator: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

/** The orchestrator's option names as the flags that set them, for usage errors. */
const FLAG_OF: Readonly<Record<string, string>> = {
  baseLimit: '--base',
  minLimit: '--min',
  maxLimit: '--max',
};

function createOrchestrator(command: RunCommand, worker: string | URL): Orchestrator {
  try {
    return new Orchestrator({
      worker,
      controller: command.controller,
      defaultMetrics: true,
      // One plain line on stderr, not Node's process warning with its --trace-warnings hint.
      systemSampler: { onWarning: (message) => process.stderr.write(`orchestrator: note: ${message}\n`) },
      ...(command.base === undefined ? {} : { baseLimit: command.base }),
      ...(command.min === undefined ? {} : { minLimit: command.min }),
      ...(command.max === undefined ? {} : { maxLimit: command.max }),
    });
  } catch (error) {
    // e.g. `--max 2` alone: the default base (4) is above it. Name the flags, not the options.
    if (error instanceof InvalidConfigError && error.issues.length > 0) {
      const text = error.issues.map(
        (i) => `${FLAG_OF[i.field] ?? i.field} must be ${i.expected}, got ${String(i.value)}`,
      );
      throw new UsageError(text.join('; '));
    }
    throw error;
  }
}

/**
 * Stops the run when the output fails. EPIPE means stdout's reader is gone (`| head -1`): stop
 * quietly. Anything else (a full disk) is reported with the flag and the path.
 */
function stopOnOutputError(output: Writable, path: string, controller: AbortController): void {
  output.on('error', (error: NodeJS.ErrnoException) => {
    controller.abort(
      error.code === 'EPIPE'
        ? new RunStopped('stdout closed', EXIT_BROKEN_PIPE, true)
        : new RunStopped(`--output ${path}: ${systemErrorText(error)}`, 1),
    );
  });
}

async function run(command: RunCommand, worker: string | URL): Promise<number> {
  const controller = new AbortController();
  const removeSignalHandlers = stopOnSignals(controller);
  let input: Readable | undefined;
  let orchestrator: Orchestrator | undefined;
  let server: Server | undefined;
  let progress: Progress | undefined;
  try {
    input = await openInput(command.input);
    let inputError: unknown;
    input.on('error', (error) => (inputError ??= error));
    orchestrator = createOrchestrator(command, worker);
    const tasks = await orchestrator.taskNames();
    if (!tasks.includes(command.task)) {
      throw new UsageError(
        `${command.module} exports no task "${command.task}"; its tasks are: ${tasks.join(', ') || '(none)'}`,
      );
    }
    const registry = orchestrator.registry;
    if (command.metricsPort !== undefined && registry !== undefined) {
      server = await listenMetrics(registry, command.metricsPort, orchestrator);
    }
    const output = await openOutput(command.output);
    stopOnOutputError(output, command.output, controller);
    const live = orchestrator;
    const counters = new Progress(process.stderr, () => ({ inFlight: live.inFlight, limit: live.limit }));
    progress = counters;
    orchestrator.on('adapt', () => counters.limitChanges++);
    counters.start();
    const { signal } = controller;
    const result = await runPipeline(
      orchestrator,
      jsonLines(input, signal),
      { task: command.task, ordered: command.ordered, batchSize: command.batchSize, signal },
      {
        write: async (line) => {
          // Once stopped (a signal, a closed stdout) nothing more is written.
          signal.throwIfAborted();
          if (!output.write(`${line}\n`)) await once(output, 'drain', { signal });
        },
        onError: (line, message) => process.stderr.write(`line ${line}: ${message}\n`),
        onRecord: (ok) => {
          counters.done++;
          if (!ok) counters.failed++;
        },
      },
    ).catch((error: unknown) => {
      if (!signal.aborted && inputError === undefined) throw error;
      return undefined;
    });
    // Flush what was written: a file must be closed before we report; stdout drains before exit.
    if (output !== process.stdout) {
      output.end();
      await finished(output).catch(() => undefined);
    }
    counters.stop();
    const reason: unknown = signal.reason;
    if (result === undefined && reason instanceof RunStopped && reason.quiet) return reason.exitCode;
    process.stderr.write(`${await summary(counters, orchestrator.registry)}\n`);
    if (result !== undefined) return result.failed > 0 ? 1 : 0;
    if (reason instanceof RunStopped) {
      process.stderr.write(`orchestrator: ${reason.message}\n`);
      return reason.exitCode;
    }
    process.stderr.write(`orchestrator: --input ${command.input}: ${systemErrorText(inputError)}\n`);
    return 1;
  } finally {
    progress?.stop();
    removeSignalHandlers();
    input?.destroy();
    server?.close();
    await orchestrator?.close();
  }
}

// Nothing is left to report to once stderr's reader is gone (`2>&1 | head`); don't die of it.
if (isMainModule(import.meta.url)) {
  process.stderr.on('error', () => undefined);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `orchestrator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 2;
    },
  );
}
