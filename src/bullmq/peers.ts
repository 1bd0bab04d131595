/**
 * The optional peer dependencies of `node-orchestrator/bullmq`, loaded once when the subpath is
 * imported. They are optional so that users of the local orchestrator never install them; a
 * user of this subpath without them gets one {@link MissingPeerError} naming what to install,
 * thrown by the import itself, instead of Node's resolution error from deep inside.
 * @internal
 * @module
 */
import { MissingPeerError } from '../errors.js';

type BullMQ = typeof import('bullmq');
type IORedis = typeof import('ioredis');

/** The packages this subpath needs, in the order `npm install` should name them. */
const PEERS = ['bullmq', 'ioredis'] as const;

async function tryImport<T>(name: string): Promise<T | undefined> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    // Only "not installed" is ours to explain; a broken install must keep its own error.
    if (isNotFound(error, name)) return undefined;
    throw error;
  }
}

function isNotFound(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(`'${name}'`)
  );
}

async function loadPeers(): Promise<{ bullmq: BullMQ; ioredis: IORedis }> {
  const [bullmq, ioredis] = await Promise.all([tryImport<BullMQ>('bullmq'), tryImport<IORedis>('ioredis')]);
  if (bullmq !== undefined && ioredis !== undefined) return { bullmq, ioredis };
  const missing = PEERS.filter((_, i) => [bullmq, ioredis][i] === undefined);
  const error = new MissingPeerError(
    `node-orchestrator/bullmq needs the optional peer ${missing.length > 1 ? 'dependencies' : 'dependency'} ` +
      `${missing.map((name) => `"${name}"`).join(' and ')}: npm install ${PEERS.join(' ')}`,
  );
  error.packages = missing;
  throw error;
}

/** BullMQ and ioredis, as their modules export them. */
export const { bullmq, ioredis } = await loadPeers();
