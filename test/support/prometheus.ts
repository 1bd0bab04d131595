import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './tools.js';

/** A real Prometheus server scraping one target every second, on a free loopback port. */
export interface PrometheusServer {
  /** GETs an API path (`/api/v1/…`) until `pick` finds what it wants in the JSON answer, or 60 s pass. */
  poll<T>(path: string, pick: (body: unknown) => T | undefined): Promise<T | undefined>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

/**
 * Starts `prometheus` scraping `target` (a server listening on loopback), with `flags` added to
 * its command line (e.g. `--enable-feature=exemplar-storage`).
 */
export async function startPrometheus(
  target: Server,
  flags: readonly string[] = [],
): Promise<PrometheusServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  const webPort = await freePort();
  const config = join(dataDir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: orchestrator',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${(target.address() as AddressInfo).port}']`,
    ].join('\n'),
  );
  const prometheus = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
      ...flags,
    ],
    { stdio: 'ignore' },
  );
  return {
    async poll(path, pick) {
      const deadline = Date.now() + 60_000;
      // Poll the API (not a sleep-as-sync: it stops as soon as the data is there).
      while (Date.now() < deadline) {
        try {
          const response = await fetch(`http://127.0.0.1:${webPort}${path}`);
          const found = pick(await response.json());
          if (found !== undefined) return found;
        } catch {
          // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return undefined;
    },
    async stop() {
      if (prometheus.exitCode === null) {
        const exited = new Promise((resolve) => prometheus.once('exit', resolve));
        prometheus.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
