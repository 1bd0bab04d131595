#!/usr/bin/env node
/**
 * The `orchestrator` command. `orchestrator run <module> --task <export>` maps a worker task
 * over JSON lines. Exit codes: 0 every record succeeded, 1 some failed, 2 usage error,
 * 130 interrupted (Ctrl-C).
 * @module
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import { serveMetrics } from '../telemetry/http.js';
import { parseArgs, UsageError, type RunCommand } from './args.js';
import { isMainModule } from './is-main.js';
import { jsonLines } from './json-lines.js';
import { runPipeline } from './pipeline.js';
import { Progress, summary } from './report.js';

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let command: RunCommand | undefined;
  try {
    command = parseArgs(argv, (text) => process.stderr.write(text));
    if (command === undefined) return 0;
    if (!existsSync(resolve(command.module))) throw new UsageError(`module not found: ${command.module}`);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`orchestrator: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  return run(command);
}

async function run(command: RunCommand): Promise<number> {
  const orchestrator = new Orchestrator({
    worker: command.module,
    controller: command.controller,
    defaultMetrics: true,
    ...(command.base === undefined ? {} : { baseLimit: command.base }),
    ...(command.min === undefined ? {} : { minLimit: command.min }),
    ...(command.max === undefined ? {} : { maxLimit: command.max }),
  });
  let server: Server | undefined;
  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  const progress = new Progress(process.stderr, () => ({
    inFlight: orchestrator.inFlight,
    limit: orchestrator.limit,
  }));
  orchestrator.on('adapt', () => progress.limitChanges++);
  try {
    const tasks = await orchestrator.taskNames();
    if (!tasks.includes(command.task)) {
      process.stderr.write(
        `orchestrator: ${command.module} exports no task "${command.task}"; its tasks are: ${tasks.join(', ') || '(none)'}\n`,
      );
      return 2;
    }
    const registry = orchestrator.registry;
    if (command.metricsPort !== undefined && registry !== undefined) {
      server = await serveMetrics({
        registry,
        port: command.metricsPort,
        ready: orchestrator,
      });
    }
    const input = command.input === '-' ? process.stdin : createReadStream(command.input);
    const output: Writable = command.output === '-' ? process.stdout : createWriteStream(command.output);
    progress.start();
    const result = await runPipeline(
      orchestrator,
      jsonLines(input),
      {
        task: command.task,
        ordered: command.ordered,
        batchSize: command.batchSize,
        signal: controller.signal,
      },
      {
        write: async (line) => {
          if (!output.write(`${line}\n`)) await once(output, 'drain');
        },
        onError: (line, message) => process.stderr.write(`line ${line}: ${message}\n`),
        onRecord: (ok) => {
          progress.done++;
          if (!ok) progress.failed++;
        },
      },
    ).catch((error: unknown) => {
      if (!controller.signal.aborted) throw error;
      return undefined;
    });
    if (output !== process.stdout) {
      output.end();
      await once(output, 'finish');
    }
    progress.stop();
    process.stderr.write(`${await summary(progress, orchestrator.registry)}\n`);
    if (result === undefined) {
      process.stderr.write('orchestrator: interrupted; in-flight tasks were cancelled\n');
      return 130;
    }
    return result.failed > 0 ? 1 : 0;
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    server?.close();
    await orchestrator.close();
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
