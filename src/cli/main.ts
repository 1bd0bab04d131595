#!/usr/bin/env node
/**
 * The `orchestrator` command. `orchestrator run <module> --task <export>` maps a worker task
 * over JSON lines. Exit codes: 0 every record succeeded, 1 some failed, 2 usage error,
 * 130 interrupted (Ctrl-C).
 * @module
 */
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { InvalidConfigError } from '../errors.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import { parseArgs, UsageError, type RunCommand } from './args.js';
import { listenMetrics, openInput, openOutput, systemErrorText } from './io.js';
import { isMainModule } from './is-main.js';
import { jsonLines } from './json-lines.js';
import { runPipeline } from './pipeline.js';
import { Progress, summary } from './report.js';

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const command = parseArgs(argv, (text) => process.stderr.write(text));
    if (command === undefined) return 0;
    if (!existsSync(resolve(command.module))) throw new UsageError(`module not found: ${command.module}`);
    return await run(command);
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

function createOrchestrator(command: RunCommand): Orchestrator {
  try {
    return new Orchestrator({
      worker: command.module,
      controller: command.controller,
      defaultMetrics: true,
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

async function run(command: RunCommand): Promise<number> {
  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  let input: Readable | undefined;
  let orchestrator: Orchestrator | undefined;
  let server: Server | undefined;
  let progress: Progress | undefined;
  try {
    input = await openInput(command.input);
    let inputError: unknown;
    input.on('error', (error) => (inputError ??= error));
    orchestrator = createOrchestrator(command);
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
    const live = orchestrator;
    const counters = new Progress(process.stderr, () => ({ inFlight: live.inFlight, limit: live.limit }));
    progress = counters;
    orchestrator.on('adapt', () => counters.limitChanges++);
    counters.start();
    const { signal } = controller;
    const result = await runPipeline(
      orchestrator,
      jsonLines(input),
      { task: command.task, ordered: command.ordered, batchSize: command.batchSize, signal },
      {
        write: async (line) => {
          if (!output.write(`${line}\n`)) await once(output, 'drain');
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
    process.stderr.write(`${await summary(counters, orchestrator.registry)}\n`);
    if (result !== undefined) return result.failed > 0 ? 1 : 0;
    if (signal.aborted) {
      process.stderr.write('orchestrator: interrupted; in-flight tasks were cancelled\n');
      return 130;
    }
    process.stderr.write(`orchestrator: --input ${command.input}: ${systemErrorText(inputError)}\n`);
    return 1;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSigint);
    input?.destroy();
    server?.close();
    await orchestrator?.close();
  }
}

if (isMainModule(import.meta.url)) {
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
