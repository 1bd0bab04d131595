import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, hasCommand } from './tools.js';

/**
 * Whether the Redis tests should run: Debian's `redis-server` must be installed. Missing on a
 * developer's machine, they skip with this message; under CI (`CI=true`, where .ci/run installs
 * it) they run and fail loudly instead.
 */
export function requireRedis(): boolean {
  if (hasCommand('redis-server')) return true;
  if (process.env['CI'] === 'true') return true;
  console.warn('SKIPPED: redis-server is not installed (apt-get install -y redis-server); CI installs it.');
  return false;
}

/** How to start a test Redis. */
export interface RedisServerOptions {
  /** `requirepass`: the default user's password. */
  password?: string;
  /** An ACL user with every permission, and the default user switched off. */
  aclUser?: { name: string; password: string };
  /** The append-only file, so a restart keeps every write (SIGTERM flushes it). @default false */
  appendonly?: boolean;
  /** Serve TLS only, with a self-signed certificate for 127.0.0.1 (see `ca`). @default false */
  tls?: boolean;
}

/** A redis-server of the test's own, on a free loopback port, in a temporary directory. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:port` (`rediss://` with TLS), without credentials. */
  readonly url: string;
  readonly dir: string;
  /** The CA certificate (PEM) clients must trust, with `tls`. */
  readonly ca: string | undefined;
  /** Runs redis-cli against it (as the configured user). */
  cli(...args: string[]): string;
  /** Stops it gracefully (SIGTERM: Redis flushes its append-only file) and starts it again. */
  restart(): Promise<void>;
  /** Makes it stop answering (SIGSTOP): connections stay open, nothing is read or written. */
  freeze(): void;
  /** Lets a frozen server answer again (SIGCONT). */
  thaw(): void;
  /** Stops it and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A test process that dies must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a redis-server and resolves once it accepts connections. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'orchestrator-redis-'));
  let ca: string | undefined;
  if (options.tls === true) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ].concat(['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]),
      { stdio: 'ignore' },
    );
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
  }
  const port = await freePort();
  const args = [
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendonly === true ? 'yes' : 'no',
    '--logfile',
    '',
    ...(options.tls === true
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          join(dir, 'cert.pem'),
          '--tls-key-file',
          join(dir, 'key.pem'),
          '--tls-ca-cert-file',
          join(dir, 'cert.pem'),
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(port)]),
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
    ...(options.aclUser === undefined
      ? []
      : [
          '--user',
          'default',
          'off',
          '--user',
          options.aclUser.name,
          'on',
          `>${options.aclUser.password}`,
          '~*',
          '&*',
          '+@all',
        ]),
  ];
  let child = await launch(args);
  const login = options.aclUser
    ? ['--user', options.aclUser.name, '--pass', options.aclUser.password]
    : options.password === undefined
      ? []
      : ['-a', options.password];
  const tls = options.tls === true ? ['--tls', '--cacert', join(dir, 'cert.pem')] : [];
  const stopChild = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    child.kill('SIGCONT'); // a frozen server acts on SIGTERM only once it runs again
    await exited;
  };
  let stopped = false;
  return {
    port,
    url: `${options.tls === true ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    dir,
    ca,
    cli: (...command) =>
      execFileSync('redis-cli', [...tls, '-p', String(port), '--no-auth-warning', ...login, ...command], {
        encoding: 'utf8',
      }).trim(),
    freeze: () => child.kill('SIGSTOP'),
    thaw: () => child.kill('SIGCONT'),
    restart: async () => {
      await stopChild();
      child = await launch(args);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Spawns redis-server and waits for its "Ready to accept connections" line. */
async function launch(args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes('Ready to accept connections')) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${log}`)),
    );
  });
  // Keep draining its log so a full pipe never blocks it.
  child.stdout.resume();
  child.stderr.resume();
  return child;
}
