import { open } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { getSystemErrorMap } from 'node:util';
import type { Registry } from 'prom-client';
import { serveMetrics, type Readiness } from '../telemetry/http.js';
import { UsageError } from './args.js';

/**
 * A system error as one human line, e.g. `no such file or directory (ENOENT)`: Node's own
 * messages repeat the path and syscall, which the CLI already names with the flag.
 */
export function systemErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { errno } = error as NodeJS.ErrnoException;
  const entry = typeof errno === 'number' ? getSystemErrorMap().get(errno) : undefined;
  return entry === undefined ? error.message : `${entry[1]} (${entry[0]})`;
}

/**
 * Opens `--input` before any worker starts, so a bad path is a usage error with the flag and the
 * path rather than a stream error surfacing mid-run. `-` is stdin.
 * @throws UsageError when the file cannot be opened for reading or is a directory.
 */
export async function openInput(path: string): Promise<Readable> {
  if (path === '-') return process.stdin;
  try {
    const handle = await open(path, 'r');
    // open(2) succeeds on a directory; reading it fails later with EISDIR, so refuse it now.
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw Object.assign(new Error('is a directory'), { errno: -21, code: 'EISDIR' });
    }
    return handle.createReadStream();
  } catch (error) {
    throw new UsageError(`--input ${path}: ${systemErrorText(error)}`);
  }
}

/**
 * Opens (and truncates) `--output`. The CLI calls it only once the module, the task and the
 * input have been checked, so a usage error leaves an existing output file untouched. `-` is stdout.
 * @throws UsageError when the file cannot be opened for writing.
 */
export async function openOutput(path: string): Promise<Writable> {
  if (path === '-') return process.stdout;
  try {
    return (await open(path, 'w')).createWriteStream();
  } catch (error) {
    throw new UsageError(`--output ${path}: ${systemErrorText(error)}`);
  }
}

/**
 * Serves the metrics endpoints on `--metrics-port`.
 * @throws UsageError when the port cannot be listened on (in use, or privileged).
 */
export async function listenMetrics(registry: Registry, port: number, ready: Readiness): Promise<Server> {
  try {
    return await serveMetrics({ registry, port, ready });
  } catch (error) {
    throw new UsageError(`--metrics-port ${port}: ${systemErrorText(error)}`);
  }
}
