import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** How a fixture process ended, and everything it wrote to stdout and stderr. */
export interface FixtureExit {
  code: number | null;
  signal: string | null;
  output: string;
}

/**
 * Runs `test/fixtures/<name>` in its own Node process and resolves when it exits by itself: the
 * way to prove that nothing left behind keeps a process alive.
 */
export async function runUntilExit(
  name: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<FixtureExit> {
  const script = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A safety net only: a process kept alive by a leaked handle would hang here forever.
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(watchdog);
  return { code, signal, output };
}
