import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One server-sent event as a browser's EventSource would see it. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
  retry: number | undefined;
}

/** An open event stream: read events one by one, or close it. */
export interface SseStream {
  status: number;
  headers: Headers;
  /** The next event (a block with only `retry:` counts too, with empty data). */
  next(): Promise<SseEvent>;
  close(): void;
}

/** Opens `path` on a loopback server as an event stream and parses it as the SSE spec says. */
export async function openStream(
  server: Server,
  path: string,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  const { port } = server.address() as AddressInfo;
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers, signal: controller.signal });
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    status: response.status,
    headers: response.headers,
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          return parseBlock(block);
        }
        if (reader === undefined) throw new Error('the response has no body');
        const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
        if (done) throw new Error('the stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    },
    close: () => controller.abort(),
  };
}

function parseBlock(block: string): SseEvent {
  const event: SseEvent = { event: 'message', data: '', id: undefined, retry: undefined };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'event') event.event = value;
    else if (field === 'id') event.id = value;
    else if (field === 'retry') event.retry = Number(value);
  }
  event.data = data.join('\n');
  return event;
}
