#!/usr/bin/env node
/**
 * The `orchestrator` command. `orchestrator run <module> --task <export>` maps a worker task
 * over JSON lines (on a local pool, or on queue nodes with `--redis`; `--task a --task b` chains
 * tasks); `orchestrator node <module> --redis URL --queue NAME` runs a queue node. `<module>` is a
 * file, or `text` / `image` for the shipped workers. Exit codes of
 * `run`: 0 every record succeeded, 1 some failed, 2 usage error,
 * 130 interrupted (SIGINT), 141 stdout closed early (e.g. `| head -1`), 143 terminated (SIGTERM).
 * @module
 */
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { OrchestratorWarning } from '../orchestrator/adaptation.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import { serverOrigin } from '../telemetry/http.js';
import { parseArgs, UsageError, type RunCommand } from './args.js';
import { localBackend, type RunBackend } from './backend.js';
import { runNode } from './node-command.js';
import { fromFlags, poolOptions } from './pool-flags.js';
import { openRemote } from './remote-run.js';
import { listenMetrics, openInput, openOutput, systemErrorText } from './io.js';
import { isMainModule } from './is-main.js';
import { jsonLines } from './json-lines.js';
import { runPipeline } from './pipeline.js';
import { SHIPPED_WORKERS, shippedWorker } from './shipped.js';
import { Progress, summary, warningLine } from './report.js';
import { EXIT_BROKEN_PIPE, RunStopped, stopOnSignals } from './stop.js';

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const command = parseArgs(argv, (text) => process.stderr.write(text));
    if (command === undefined) return 0;
    if (shippedWorker(command.module) === undefined && !existsSync(resolve(command.module)))
      throw new UsageError(
        `module not found: ${command.module} (nor is it a shipped worker: ${Object.keys(SHIPPED_WORKERS).join(', ')})`,
      );
    if (command.kind === 'node') return await runNode(command);
    return await run(command);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`orchestrator: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

function createOrchestrator(command: RunCommand): Orchestrator {
  const orchestrator = fromFlags(() => new Orchestrator(poolOptions(command)));
  // One plain line on stderr, not Node's process warning with its --trace-warnings hint.
  orchestrator.on('warning', (warning: OrchestratorWarning) => process.stderr.write(warningLine(warning)));
  return orchestrator;
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

/** A local pool for `run`, once the module is known to export the task. */
async function openLocal(command: RunCommand): Promise<RunBackend> {
  const orchestrator = createOrchestrator(command);
  const tasks = await orchestrator.taskNames().catch(async (error: unknown) => {
    await orchestrator.close();
    throw error;
  });
  const missing = command.tasks.find((task) => !tasks.includes(task));
  if (missing !== undefined) {
    await orchestrator.close();
    throw new UsageError(
      `${command.module} exports no task "${missing}"; its tasks are: ${tasks.join(', ') || '(none)'}`,
    );
  }
  return localBackend(orchestrator);
}

async function run(command: RunCommand): Promise<number> {
  const controller = new AbortController();
  const removeSignalHandlers = stopOnSignals(controller);
  let input: Readable | undefined;
  let backend: RunBackend | undefined;
  let server: Server | undefined;
  let progress: Progress | undefined;
  try {
    input = await openInput(command.input);
    let inputError: unknown;
    input.on('error', (error) => (inputError ??= error));
    backend =
      command.redis === undefined
        ? await openLocal(command)
        : await openRemote({ ...command, redis: command.redis });
    const registry = backend.registry;
    if (command.metricsPort !== undefined && registry !== undefined) {
      server = await listenMetrics(registry, command.metricsPort, backend.ready);
      const origin = serverOrigin(server);
      process.stderr.write(`orchestrator: metrics on ${origin}/metrics, dashboard on ${origin}/dashboard\n`);
    }
    const output = await openOutput(command.output);
    stopOnOutputError(output, command.output, controller);
    const live = backend;
    const counters = new Progress(process.stderr, () => live.state());
    progress = counters;
    backend.onAdapt(() => counters.limitChanges++);
    counters.start();
    const { signal } = controller;
    const result = await runPipeline(
      backend,
      jsonLines(input, signal),
      { tasks: command.tasks, ordered: command.ordered, batchSize: command.batchSize, signal },
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
    process.stderr.write(`${await summary(counters, backend.registry)}\n`);
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
    await backend?.close();
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
