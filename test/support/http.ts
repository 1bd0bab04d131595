import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** GETs a path from a server listening on loopback. */
export async function get(
  server: Server,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: string; type: string | null; allow: string | null }> {
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}${path}`, init);
  return {
    status: response.status,
    body: await response.text(),
    type: response.headers.get('content-type'),
    allow: response.headers.get('allow'),
  };
}

/** Closes a server and waits for it. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

/** Reads one sample's value from Prometheus text output, or undefined. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
