import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

/** Whether a command is on the PATH. */
export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether tests that need `command` should run. Missing on a developer's machine: skip with a
 * visible message. Missing under CI (CI=true installs it): the test must fail, not skip.
 */
export function requireTool(command: string, debianPackage = 'prometheus'): boolean {
  if (hasCommand(command)) return true;
  if (process.env['CI'] === 'true') return true; // run, and fail loudly
  console.warn(`SKIPPED: ${command} is not installed (apt-get install -y ${debianPackage}); CI installs it.`);
  return false;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
