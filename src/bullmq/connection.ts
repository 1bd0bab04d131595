import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { RedisOptions as BullMQRedisOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { RedisAuthError, RedisUnavailableError } from '../errors.js';
import { ioredis } from './peers.js';

/**
 * Where Redis is and how to log in. Every field is optional; the defaults are ioredis's
 * (127.0.0.1:6379, no password, db 0).
 */
export interface RedisConnectionOptions {
  /** `redis://[user[:password]@]host[:port][/db]`, or `rediss://…` for TLS. Fields below override it. */
  url?: string | undefined;
  /** @default '127.0.0.1' */
  host?: string | undefined;
  /** @default 6379 */
  port?: number | undefined;
  /** The Redis 6+ ACL user. @default 'default' */
  username?: string | undefined;
  /** The ACL user's password, or `requirepass`'s. */
  password?: string | undefined;
  /** The database number. @default 0 */
  db?: number | undefined;
  /** TLS options (node:tls `connect` options: `ca`, `cert`, `key`, `servername`, …); `true` for defaults. */
  tls?: TlsOptions | boolean | undefined;
  /** How long the start-up check may take to connect and log in before it gives up. @default 10000 */
  connectTimeoutMs?: number | undefined;
  /** Any other ioredis option, passed through as is (BullMQ still sets `maxRetriesPerRequest` where it must). */
  redisOptions?: Readonly<RedisOptions> | undefined;
}

/** A Redis URL, or {@link RedisConnectionOptions}. */
export type RedisConnection = string | RedisConnectionOptions;

/** ioredis options for one connection: the URL (if any) and the rest. @internal */
export interface ResolvedConnection {
  readonly url: string | undefined;
  readonly options: RedisOptions;
  readonly connectTimeoutMs: number;
  /** Where it points, without credentials, for messages. */
  readonly target: string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Checks a connection option and turns it into ioredis options.
 * @throws TypeError or RangeError naming the field and the value.
 * @internal
 */
export function resolveConnection(connection: unknown, field = 'connection'): ResolvedConnection {
  const given: RedisConnectionOptions =
    typeof connection === 'string' ? { url: connection } : (connection as RedisConnectionOptions);
  if (typeof given !== 'object' || (given as unknown) === null) {
    throw new TypeError(`${field} must be a Redis URL or an options object, got ${String(connection)}`);
  }
  const { url, redisOptions = {}, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS, tls, ...fields } = given;
  let parsed: URL | undefined;
  if (url !== undefined) {
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`${field}.url must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      throw new TypeError(`${field}.url must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
    }
  }
  if (
    fields.port !== undefined &&
    !(Number.isInteger(fields.port) && fields.port > 0 && fields.port < 65536)
  ) {
    throw new RangeError(`${field}.port must be an integer from 1 to 65535, got ${String(fields.port)}`);
  }
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1) {
    throw new RangeError(
      `${field}.connectTimeoutMs must be an integer >= 1, got ${String(connectTimeoutMs)}`,
    );
  }
  const options: RedisOptions = { ...redisOptions, connectTimeout: connectTimeoutMs };
  for (const [key, value] of Object.entries(fields) as [string, unknown][]) {
    if (value !== undefined) (options as Record<string, unknown>)[key] = value;
  }
  if (tls === true) options.tls = {};
  else if (typeof tls === 'object') options.tls = tls;
  const host = fields.host ?? (parsed?.hostname || '127.0.0.1');
  const port = fields.port ?? (parsed?.port ? Number(parsed.port) : 6379);
  const secure = options.tls !== undefined || parsed?.protocol === 'rediss:';
  return { url, options, connectTimeoutMs, target: `${secure ? 'rediss' : 'redis'}://${host}:${port}` };
}

/** The `connection` option for BullMQ's Queue, Worker and QueueEvents. @internal */
export function bullmqConnection(resolved: ResolvedConnection): BullMQRedisOptions {
  // BullMQ hands these to ioredis (`new Redis(url, rest)`); its own type is a loose copy of ioredis's.
  const options =
    resolved.url === undefined ? { ...resolved.options } : { ...resolved.options, url: resolved.url };
  return options as BullMQRedisOptions;
}

/** A new ioredis client of our own (the cancel channel's subscriber). @internal */
export function createClient(
  resolved: ResolvedConnection,
  extra: RedisOptions = {},
): InstanceType<typeof ioredis.Redis> {
  const options = { ...resolved.options, ...extra };
  return resolved.url === undefined ? new ioredis.Redis(options) : new ioredis.Redis(resolved.url, options);
}

/** Redis's answers to a login it refuses (RESP2 AUTH and RESP3 HELLO alike). */
const AUTH_FAILURE = /\b(WRONGPASS|NOAUTH|NOPERM)\b|invalid password|invalid username/i;

/**
 * Connects once, logs in and pings, without retrying, so that a wrong password or an unreachable
 * server fails at start-up with a typed error instead of BullMQ's reconnecting forever.
 * @throws RedisAuthError when Redis refuses the credentials.
 * @throws RedisUnavailableError when it cannot be reached or does not answer within `connectTimeoutMs`.
 * @internal
 */
export async function checkConnection(resolved: ResolvedConnection): Promise<void> {
  let lastError: Error | undefined;
  const client = createClient(resolved, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  client.on('error', (error: Error) => (lastError = error));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${resolved.connectTimeoutMs} ms`)),
      resolved.connectTimeoutMs,
    );
  });
  try {
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
  } catch (error) {
    const cause = lastError ?? error;
    const text = cause instanceof Error ? cause.message : String(cause);
    if (AUTH_FAILURE.test(text)) {
      throw new RedisAuthError(`Redis at ${resolved.target} refused the login: ${text}`, { cause });
    }
    throw new RedisUnavailableError(`Cannot connect to Redis at ${resolved.target}: ${text}`, { cause });
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
