import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DashboardFrame } from 'node-orchestrator';
import { freePort } from './support/tools.js';

const cli = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/cli-tasks.mjs', import.meta.url));
const edge = fileURLToPath(new URL('./fixtures/cli-edge-tasks.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'orchestrator-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI (or `script`, a path to it); `stdin` may be a string or a stream; `onStdout` sees
 * output as it comes.
 */
function runCli(
  args: string[],
  stdin: string | Readable = '',
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void,
  script = cli,
): Promise<Result> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout, child);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (typeof stdin === 'string') child.stdin.end(stdin);
  else stdin.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const lines = (text: string): unknown[] =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);

describe('orchestrator run', () => {
  it('maps a task over JSON lines from a file to a file, one output line per input line, in order with --ordered', async () => {
    const input = join(dir, 'in.jsonl');
    const output = join(dir, 'out.jsonl');
    writeFileSync(input, Array.from({ length: 500 }, (_, i) => JSON.stringify(i)).join('\n') + '\n');
    const result = await runCli([
      'run',
      fixture,
      '--task',
      'double',
      '--input',
      input,
      '--output',
      output,
      '--ordered',
    ]);
    expect(result.code).toBe(0);
    const records = lines(readFileSync(output, 'utf8'));
    expect(records).toEqual(Array.from({ length: 500 }, (_, i) => ({ line: i + 1, result: i * 2 })));
    expect(result.stderr).toMatch(/summary: 500 records, 0 failed/);
    expect(result.stderr).toMatch(/p50 .* p99 /);
    // Sampler notes (no GPU here) are one plain line, not Node's multi-line process warning.
    expect(result.stderr).not.toMatch(/\(node:\d+\)|--trace-warnings/);
  });

  it('chains tasks with repeated --task: each output is the next input, and an error record names the stage that failed', async () => {
    const result = await runCli(
      ['run', fixture, '--task', 'slow', '--task', 'double', '--ordered'],
      '1\n"x"\n3\n',
    );
    expect(result.code).toBe(1);
    expect(lines(result.stdout)).toEqual([
      { line: 1, result: 2 },
      { line: 2, error: { message: 'not a number: "x"', code: 'ERR_TASK_FAILED', stage: 'double' } },
      { line: 3, result: 6 },
    ]);
    expect(result.stderr).toMatch(/line 2: double: not a number: "x"/);
    const unknown = await runCli(['run', fixture, '--task', 'double', '--task', 'triple']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/exports no task "triple"/);
  });

  it('reads stdin and writes stdout; bad JSON and failed tasks become error records naming the line, exit 1', async () => {
    const result = await runCli(
      ['run', fixture, '--task', 'double', '--ordered'],
      '1\nnot json\n"text"\n\n4\n',
    );
    expect(result.code).toBe(1);
    const records = lines(result.stdout) as {
      line: number;
      result?: number;
      error?: { message: string; code: string };
    }[];
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 5]);
    expect(records[0]).toEqual({ line: 1, result: 2 });
    expect(records[1]!.error).toMatchObject({ code: 'ERR_INVALID_JSON' });
    expect(records[2]!.error).toMatchObject({ code: 'ERR_TASK_FAILED', message: 'not a number: "text"' });
    expect(records[3]).toEqual({ line: 5, result: 8 });
    expect(result.stderr).toMatch(/line 2: invalid JSON/);
    expect(result.stderr).toMatch(/line 3: not a number/);
  });

  it('without --ordered still writes every record once', async () => {
    const result = await runCli(
      ['run', fixture, '--task', 'double'],
      Array.from({ length: 300 }, (_, i) => `${i}`).join('\n'),
    );
    expect(result.code).toBe(0);
    const records = lines(result.stdout) as { line: number; result: number }[];
    expect(records.map((r) => r.line).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    expect(records.every((r) => r.result === (r.line - 1) * 2)).toBe(true);
  });

  it('runs the shipped workers by name: typed arrays come out as JSON arrays, images go in as base64', async () => {
    const text = await runCli(
      ['run', 'text', '--task', 'tokenize', '--ordered'],
      `${JSON.stringify({ text: 'hello world', maxLength: 3, padding: true })}\n"foo)\\n\\n\\n[npm]"\n`,
    );
    expect(text.code).toBe(0);
    expect(lines(text.stdout)).toEqual([
      { line: 1, result: { ids: [15339, 1917, 0], attentionMask: [1, 1, 0], length: 2, truncated: false } },
      {
        line: 2,
        result: {
          ids: [8134, 3707, 7824, 5298, 60],
          attentionMask: [1, 1, 1, 1, 1],
          length: 5,
          truncated: false,
        },
      },
    ]);
    const image = readFileSync(
      fileURLToPath(new URL('./fixtures/images/chelsea.png', import.meta.url)),
    ).toString('base64');
    const images = await runCli(
      ['run', 'image', '--task', 'preprocessImage', '--ordered'],
      `${JSON.stringify({ image, width: 4, height: 3, dtype: 'uint8', layout: 'hwc' })}\n{"image":"AAAA","width":4,"height":3}\n`,
    );
    expect(images.code).toBe(1);
    const [ok, bad] = lines(images.stdout) as [
      { result: { tensor: number[]; shape: number[] } },
      { error: unknown },
    ];
    expect(ok.result.shape).toEqual([3, 4, 3]);
    expect(ok.result.tensor).toHaveLength(36);
    expect(bad.error).toEqual({
      message: 'Cannot decode the image as PNG or JPEG: unrecognized leading bytes 00 00 00',
      code: 'ERR_TASK_FAILED',
    });
  });

  it.each([
    [['run', fixture, '--task', 'double', '--bogus'], /unknown option '--bogus'/],
    [
      ['run', join(dir, 'missing.mjs'), '--task', 'double'],
      /module not found: .*missing\.mjs \(nor is it a shipped worker: text, image\)/,
    ],
    [['run', fixture, '--task', 'triple'], /exports no task "triple"; its tasks are: double, slow/],
    [['run', fixture], /required option '--task <export>' not specified/],
  ])('exits 2 for a usage error, naming it: %j', async (args, message) => {
    const result = await runCli(args, '1\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('on SIGINT cancels in-flight tasks, flushes what is done and exits 130', async () => {
    const input = Array.from({ length: 2000 }, (_, i) => `${i}`).join('\n');
    let signalled = false;
    const result = await runCli(['run', fixture, '--task', 'slow', '--ordered'], input, (out, child) => {
      if (!signalled && out.includes('\n')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/interrupted/);
    const records = lines(result.stdout) as { line: number }[];
    expect(records.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThan(2000);
    expect(records.map((r) => r.line)).toEqual(records.map((_, i) => i + 1));
  });

  it('streams a large input with bounded memory', async () => {
    const count = 200_000;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < count; i += 1000)
          yield Array.from({ length: 1000 }, (_, j) => `${i + j}`).join('\n') + '\n';
      })(),
    );
    let outputLines = 0;
    const result = await runCli(['run', fixture, '--task', 'double'], source, (out) => {
      outputLines = out.length;
    });
    expect(result.code).toBe(0);
    expect(outputLines).toBeGreaterThan(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(count);
    const rss = Number(/peak RSS (\d+) MiB/.exec(result.stderr)?.[1]);
    expect(rss).toBeLessThan(300);
  });

  it('serves /healthz, /metrics and the dashboard on --metrics-port while the run lasts, and says where', async () => {
    const port = await freePort();
    let health = 0;
    let metrics = '';
    let dashboard: DashboardFrame | undefined;
    let probed = false;
    const input = Array.from({ length: 400 }, (_, i) => `${i}`).join('\n');
    const result = await runCli(
      ['run', fixture, '--task', 'slow', '--metrics-port', String(port)],
      input,
      (out) => {
        if (probed || !out.includes('\n')) return;
        probed = true;
        void (async () => {
          health = (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
          metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          dashboard = (await (
            await fetch(`http://127.0.0.1:${port}/dashboard/data`)
          ).json()) as DashboardFrame;
        })();
      },
    );
    expect(result.code).toBe(0);
    expect(health).toBe(200);
    expect(metrics).toMatch(/orchestrator_tasks_total\{task="slow",outcome="success"\}/);
    expect(metrics).toMatch(/process_cpu_user_seconds_total/);
    expect(dashboard?.orchestrator?.prefix).toBe('orchestrator_');
    expect(result.stderr).toContain(
      `orchestrator: metrics on http://127.0.0.1:${port}/metrics, dashboard on http://127.0.0.1:${port}/dashboard\n`,
    );
  });
});

/** No stack frame (`    at fn (file:1:2)`) anywhere in a child's stderr. */
const noStackTrace = /^\s+at /m;

/**
 * The CLI's own stderr lines: without Node's process warnings (the pool's GPU sampler warns on a
 * machine without a GPU, at a moment that races with the CLI's own checks).
 */
const ownLines = (stderr: string): string[] =>
  stderr.split('\n').filter((l) => l.length > 0 && !/^\(node:\d+\)|^\(Use `node /.test(l));

describe('orchestrator run at the edges', () => {
  it('keeps a UTF-8 character whole when its bytes arrive in two separate reads', async () => {
    const clef = Buffer.from('𝄞'); // 4 bytes
    const stdin = new PassThrough();
    // 20 lines, one per batch, fill the map's small window (--max 1), so the CLI writes output
    // (proof it has read this whole first write) before the rest of the character is sent.
    const head = Array.from({ length: 20 }, (_, i) => JSON.stringify(`x${i}`)).join('\n');
    stdin.write(Buffer.concat([Buffer.from(`${head}\n"a€`), clef.subarray(0, 2)]));
    let sent = false;
    const result = await runCli(
      ['run', edge, '--task', 'echo', '--ordered', '--batch-size', '1', '--base', '1', '--max', '1'],
      stdin,
      (out) => {
        if (sent || !out.includes('\n')) return;
        sent = true;
        stdin.end(Buffer.concat([clef.subarray(2), Buffer.from('"\n')]));
      },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\uFFFD');
    expect(lines(result.stdout).at(-1)).toEqual({ line: 21, result: 'a€𝄞' });
  });

  it('on SIGTERM cancels in-flight tasks, keeps the finished results and exits 143', async () => {
    // Line 1 finishes at once; every other line runs until it is cancelled.
    const input = ['"now"', ...Array.from({ length: 50 }, () => '"wait"')].join('\n');
    let signalled = false;
    const result = await runCli(['run', edge, '--task', 'hang'], input, (out, child) => {
      if (!signalled && out.includes('\n')) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    expect(result.code).toBe(143);
    expect(lines(result.stdout)).toEqual([{ line: 1, result: 'now' }]);
    expect(result.stderr).toMatch(/terminated \(SIGTERM\)/);
    expect(result.stderr).not.toMatch(noStackTrace);
  });

  it('on SIGINT stops reading a stdin that never ends and exits 130', async () => {
    const stdin = new PassThrough(); // written to, never ended
    stdin.write(Array.from({ length: 20 }, () => '"now"').join('\n') + '\n');
    let signalled = false;
    const result = await runCli(
      ['run', edge, '--task', 'hang', '--batch-size', '1', '--base', '1', '--max', '1'],
      stdin,
      (out, child) => {
        if (!signalled && out.includes('\n')) {
          signalled = true;
          child.kill('SIGINT');
        }
      },
    );
    stdin.destroy();
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/interrupted \(SIGINT\)/);
    expect(lines(result.stdout).length).toBeGreaterThan(0);
  });

  it('when stdout closes early (`| head -1`) stops reading and working, exits 141 and prints no error', async () => {
    const endless = Readable.from(
      (function* () {
        for (let i = 0; ; i += 1000)
          yield Array.from({ length: 1000 }, (_, j) => `${i + j}`).join('\n') + '\n';
      })(),
    );
    let closed = false;
    const result = await runCli(['run', fixture, '--task', 'double'], endless, (out, child) => {
      if (!closed && out.includes('\n')) {
        closed = true;
        child.stdout?.destroy();
      }
    });
    endless.destroy();
    expect(result.code).toBe(141);
    expect(result.stderr).not.toMatch(/EPIPE|Error/);
    expect(result.stderr).not.toMatch(noStackTrace);
  });

  it.each([
    [
      ['--input', join(dir, 'absent.jsonl')],
      /^orchestrator: --input \S*absent\.jsonl: no such file or directory/,
    ],
    [['--input', dir], /^orchestrator: --input \S+: illegal operation on a directory/],
    [
      ['--output', join(dir, 'no-such-dir', 'out.jsonl')],
      /^orchestrator: --output \S*out\.jsonl: no such file or directory/,
    ],
    [['--output', dir], /^orchestrator: --output \S+: illegal operation on a directory/],
    [
      ['--metrics-port', '70000'],
      /^orchestrator: option '--metrics-port <port>' argument '70000' is invalid/,
    ],
    [['--base', '8', '--max', '2'], /^orchestrator: --base must be within .*, got 8/],
  ])(
    'a path, port or limit that cannot be used is one line naming flag and value, exit 2: %j',
    async (flags, message) => {
      const result = await runCli(['run', fixture, '--task', 'double', ...flags], '1\n');
      expect(result.code).toBe(2);
      expect(ownLines(result.stderr)).toHaveLength(1);
      expect(ownLines(result.stderr)[0]).toMatch(message);
    },
  );

  it('an occupied --metrics-port is one line naming flag and port, exit 2', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const result = await runCli(
        ['run', fixture, '--task', 'double', '--metrics-port', String(port)],
        '1\n',
      );
      expect(result.code).toBe(2);
      expect(ownLines(result.stderr)).toEqual([
        `orchestrator: --metrics-port ${port}: address already in use (EADDRINUSE)`,
      ]);
    } finally {
      server.close();
    }
  });

  it.each([
    ['bigint', /BigInt/],
    ['cyclic', /circular/],
  ])(
    'a %s result JSON cannot encode becomes that line’s error record; the run goes on',
    async (task, message) => {
      const result = await runCli(['run', edge, '--task', task, '--ordered'], '1\nnull\n');
      expect(result.code).toBe(1);
      const records = lines(result.stdout) as { line: number; error?: { message: string; code: string } }[];
      expect(records).toHaveLength(2);
      expect(records[0]!.error?.code).toBe('ERR_RESULT_NOT_JSON');
      expect(records[0]!.error?.message).toMatch(message);
      expect(records[1]).toEqual({ line: 2, result: null });
      expect(result.stderr).toMatch(/line 1: result is not JSON-encodable/);
      expect(result.stderr).not.toMatch(noStackTrace);
    },
  );

  it('runs when started through a symlink of another name, as npm installs bins', async () => {
    const link = join(dir, 'orch-link');
    symlinkSync(cli, link);
    const result = await runCli(['run', fixture, '--task', 'double'], '21\n', undefined, link);
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([{ line: 1, result: 42 }]);
  });
});

describe('npm start (the demo main job)', () => {
  it('runs the demo on a small scale and prints the summary', async () => {
    const demo = fileURLToPath(new URL('../dist/src/demo/main.js', import.meta.url));
    const child = spawn(process.execPath, [demo], {
      env: { ...process.env, DEMO_SCALE: '0.02' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toMatch(/summary: 805 records, 0 failed/);
    expect(stderr).toMatch(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
  });
});
