import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A service started in its own Node process. */
export interface Service {
  readonly child: ChildProcess;
  /** Its base URL, from the `listening on <url>` line it prints. */
  readonly url: string;
  readonly port: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code and signal once the process has exited by itself. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `node <script>` with PORT=0 and resolves once it prints `listening on <url>`. Rejects if
 * the process exits first (with what it printed, to say why).
 */
export async function startService(
  script: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; execArgv?: readonly string[] } = {},
): Promise<Service> {
  const child = spawn(process.execPath, [...(options.execArgv ?? []), script], {
    cwd: options.cwd,
    env: { ...process.env, PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const url = await new Promise<string>((resolve, reject) => {
    const look = (): void => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] === undefined) return;
      child.stdout.off('data', look);
      resolve(match[1]);
    };
    child.stdout.on('data', look);
    void exited.then(({ code, signal }) =>
      reject(new Error(`${script} exited (${code ?? signal}) before listening:\n${output}`)),
    );
  });
  return { child, url, port: Number(new URL(url).port), output: () => output, exited };
}
