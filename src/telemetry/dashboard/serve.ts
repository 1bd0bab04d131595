/**
 * The dashboard's three endpoints: the page, one frame as JSON, and a stream of frames as
 * server-sent events. Nothing runs while nobody is connected: each stream owns one timer and
 * its previous reading, both dropped when its connection closes.
 * @internal
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { send } from '../send.js';
import { buildFrame, type Selector } from './frame.js';
import { dashboardPage } from './page.js';
import { readRegistry, type Reading } from './reading.js';

/** Frames per stream: one a second unless the client asks for `?interval=` milliseconds. */
export const STREAM_INTERVAL = { default: 1000, min: 250, max: 60_000 } as const;

/** Streams served at once by one handler; more are refused with 503, so tabs left open stay cheap. */
export const MAX_STREAMS = 32;

/** How long a browser waits before it reconnects a dropped stream (the SSE `retry` field). */
const RETRY_MS = 2000;

const JSON_TYPE = 'application/json; charset=utf-8';

/** The dashboard endpoints of one metrics handler. */
export class DashboardRoutes {
  #streams = 0;

  constructor(readonly registry: Registry) {}

  /** Whether `path` is one of ours. */
  handles(path: string): boolean {
    return (
      path === '/dashboard' ||
      path === '/dashboard/' ||
      path === '/dashboard/data' ||
      path === '/dashboard/events'
    );
  }

  /** Answers a GET or HEAD of one of our paths. */
  async serve(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const selector: Selector = {
      orchestrator: query.get('orchestrator') ?? undefined,
      prefix: query.get('prefix') ?? undefined,
    };
    try {
      if (path === '/dashboard/data') {
        const frame = buildFrame(await readRegistry(this.registry), undefined, selector);
        res.setHeader('Cache-Control', 'no-store');
        send(res, 200, `${JSON.stringify(frame)}\n`, JSON_TYPE);
      } else if (path === '/dashboard/events') {
        this.#stream(req, res, selector, query.get('interval'));
      } else {
        const { html, csp } = await dashboardPage();
        res.setHeader('Content-Security-Policy', csp);
        res.setHeader('Cache-Control', 'no-cache');
        send(res, 200, html, 'text/html; charset=utf-8');
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      send(res, 500, `Error serving the dashboard: ${message}\n`);
    }
  }

  #stream(req: IncomingMessage, res: ServerResponse, selector: Selector, interval: string | null): void {
    const intervalMs = interval === null ? STREAM_INTERVAL.default : Number(interval);
    if (
      !Number.isInteger(intervalMs) ||
      intervalMs < STREAM_INTERVAL.min ||
      intervalMs > STREAM_INTERVAL.max
    ) {
      send(
        res,
        400,
        `interval must be an integer number of milliseconds in [${STREAM_INTERVAL.min}, ${STREAM_INTERVAL.max}], got ${JSON.stringify(interval)}\n`,
      );
      return;
    }
    if (this.#streams >= MAX_STREAMS) {
      res.setHeader('Retry-After', String(RETRY_MS / 1000));
      send(res, 503, `Too many dashboard streams (at most ${MAX_STREAMS} at once)\n`);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no', // proxies such as nginx must not hold frames back
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    this.#streams++;
    res.write(`retry: ${RETRY_MS}\n\n`);
    let previous: Reading | undefined;
    let busy = false;
    let blocked = false;
    // A function, not a variable: the connection may close while a tick awaits the registry.
    const gone = (): boolean => res.destroyed;
    const tick = async (): Promise<void> => {
      // A slow registry or a slow reader skips ticks; the next window then covers the gap.
      if (busy || blocked || gone()) return;
      busy = true;
      try {
        const reading = await readRegistry(this.registry);
        if (gone()) return;
        const frame = buildFrame(reading, previous, selector);
        previous = reading;
        if (!res.write(`id: ${frame.time}\ndata: ${JSON.stringify(frame)}\n\n`)) {
          blocked = true;
          res.once('drain', () => (blocked = false));
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!gone()) res.write(`event: failure\ndata: ${JSON.stringify({ message })}\n\n`);
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), intervalMs);
    res.once('close', () => {
      clearInterval(timer);
      this.#streams--;
    });
    void tick();
  }
}
