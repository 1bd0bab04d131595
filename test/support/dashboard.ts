/** What the dashboard tests share: servers and streams closed after each test, and frames read from a stream. */
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import { afterEach } from 'vitest';
import { serveMetrics, type DashboardFrame } from 'node-orchestrator';
import { closeServer } from './http.js';
import { closeAll } from './orchestrator.js';
import { openStream, type SseStream } from './sse.js';

/** A frame of a stream, with its event id. */
export type Frame = DashboardFrame & { id: string | undefined };

/**
 * `serve` and `stream` for one test file: what they open, and every orchestrator the test made,
 * is closed after each test.
 */
export function dashboardHarness(): {
  serve: (registry: Registry, options?: { dashboard?: boolean }) => Promise<Server>;
  stream: (server: Server, query: string, headers?: Record<string, string>) => Promise<SseStream>;
} {
  const servers: Server[] = [];
  const streams: SseStream[] = [];
  afterEach(async () => {
    streams.splice(0).forEach((stream) => stream.close());
    await Promise.all(servers.splice(0).map(closeServer));
    await closeAll();
  });
  return {
    serve: async (registry, options = {}) => {
      const server = await serveMetrics({ registry, port: 0, ...options });
      servers.push(server);
      return server;
    },
    stream: async (server, query, headers = {}) => {
      const opened = await openStream(server, `/dashboard/events${query}`, headers);
      streams.push(opened);
      return opened;
    },
  };
}

/** The next data frame of a stream (skipping the `retry` preamble). */
export async function nextFrame(events: SseStream): Promise<Frame> {
  for (;;) {
    const event = await events.next();
    if (event.event === 'message' && event.data !== '') {
      return { ...(JSON.parse(event.data) as DashboardFrame), id: event.id };
    }
  }
}
