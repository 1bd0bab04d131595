import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QueueNodeOptions } from 'node-orchestrator/bullmq';

/** The fixture worker module of the queue tests. */
export const queueTasks = new URL('../fixtures/queue-tasks.mjs', import.meta.url);

/** A QueueNode running in a process of its own (test/fixtures/queue-node.mjs). */
export interface NodeProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when it exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a node process and resolves once it consumes the queue. */
export async function startNodeProcess(options: Omit<QueueNodeOptions, 'worker'>): Promise<NodeProcess> {
  const script = fileURLToPath(new URL('../fixtures/queue-node.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (!output.includes('ready ')) return;
      child.stdout.off('data', onData);
      resolve();
    };
    child.stdout.on('data', onData);
    void exited.then(({ code }) =>
      reject(new Error(`the node exited (${code}) before it was ready:\n${output}`)),
    );
  });
  return { pid: child.pid as number, child, output: () => output, exited };
}

/**
 * Stops a node process: SIGTERM, then waits until it has exited by itself; with `killAfterMs`,
 * SIGKILLs it if it has not exited by then (for tests whose subject is not a clean close).
 */
export async function stopNodeProcess(node: NodeProcess, killAfterMs?: number): Promise<void> {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGTERM');
  const timer =
    killAfterMs === undefined ? undefined : setTimeout(() => node.child.kill('SIGKILL'), killAfterMs);
  try {
    await node.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Lines of a marker file written by the fixture tasks ("<key> <pid> …"), or none yet. */
export function markers(dir: string, file: 'started' | 'aborted' | 'runs'): string[][] {
  try {
    return readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '));
  } catch {
    return [];
  }
}

/** Resolves once `check()` holds, polling state every few ms (a state check, not a sleep as sync). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
