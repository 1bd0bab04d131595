/**
 * Closing Redis connections when Redis may not answer.
 * @module
 */
import type { Redis } from 'ioredis';
import { settledWithin } from '../internal/settled-within.js';

/**
 * How long a close waits for Redis to acknowledge before it drops its connections. A graceful
 * close (QUIT, BullMQ's close) waits for Redis's answer, which a Redis that is restarting, paused
 * or cut off may never give; a close that must end drops the sockets instead.
 */
export const CLOSE_CONNECTIONS_MS = 5_000;

/** A connection (ioredis client, or BullMQ Queue, Worker, QueueEvents) that can close either way. */
export interface Closable {
  /** Closes gracefully: waits for Redis to acknowledge. */
  close(): Promise<unknown>;
  /** Drops the connection at once. */
  disconnect(): unknown;
}

/**
 * Closes every connection gracefully if Redis acknowledges within `ms`, and drops every one
 * still open otherwise. Never rejects.
 * @returns true if the graceful close ended in time.
 */
export async function closeConnections(
  connections: readonly Closable[],
  ms = CLOSE_CONNECTIONS_MS,
): Promise<boolean> {
  const graceful = Promise.allSettled(connections.map((connection) => connection.close()));
  if (await settledWithin(graceful, ms)) return true;
  // disconnect() is synchronous on ioredis and async on BullMQ; either may throw.
  await Promise.allSettled(
    connections.map((connection) => Promise.resolve().then(() => connection.disconnect())),
  );
  return false;
}

/** An ioredis client as a {@link Closable}: QUIT, or drop. */
export function quitting(redis: Redis): Closable {
  return { close: () => redis.quit(), disconnect: () => redis.disconnect() };
}
