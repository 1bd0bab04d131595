/**
 * The cancel channel: BullMQ cancels a job only on the worker that holds it
 * (`worker.cancelJob`), and a client does not know which node that is, so cancels travel on a
 * Redis pub/sub channel every node subscribes to. Messages are `{"ids":[…]}`; a node cancels
 * the ones it holds and ignores the rest. A message lost while a node reconnects is harmless:
 * the client repeats a cancel until the job ends.
 * @internal
 * @module
 */
import type { Redis } from 'ioredis';

/** Bounds what one message may make a node do. */
const MAX_MESSAGE = 1024 * 1024;
const MAX_ID = 256;

/** The channel of a queue, next to BullMQ's own keys. @internal */
export function cancelChannel(queue: { toKey(type: string): string }): string {
  return queue.toKey('orchestrator-cancel');
}

/** Publishes a cancel of `ids`. @internal */
export async function publishCancel(client: Redis, channel: string, ids: readonly string[]): Promise<void> {
  await client.publish(channel, JSON.stringify({ ids }));
}

/** Reads a cancel message (untrusted): the job ids, or none if it is malformed. @internal */
export function readCancel(message: string): string[] {
  if (message.length > MAX_MESSAGE) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return [];
  }
  const ids = (parsed as { ids?: unknown } | null)?.ids;
  if (!Array.isArray(ids)) return [];
  return ids.filter((id): id is string => typeof id === 'string' && id.length > 0 && id.length <= MAX_ID);
}

/**
 * Subscribes `client` (a connection of its own: a subscribed connection can do nothing else) to
 * the channel and calls `onCancel` with each message's ids. ioredis subscribes again by itself
 * after a reconnect.
 * @internal
 */
export async function subscribeCancels(
  client: Redis,
  channel: string,
  onCancel: (ids: string[]) => void,
): Promise<void> {
  client.on('message', (from: string, message: string) => {
    if (from === channel) onCancel(readCancel(message));
  });
  await client.subscribe(channel);
}
