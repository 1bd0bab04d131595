import { randomBytes } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { serialize } from 'node:v8';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { BadPayloadError, DataCloneError, PayloadTooLargeError } from 'node-orchestrator';
import * as api from '../src/errors.js';
import { errorClasses } from './support/error-classes.js';
import { pack, resolvePayload, unpack } from '../src/bullmq/codec.js';
import { decodeResult, encodeResult } from '../src/bullmq/envelope.js';
import { failedReason, fromFailedReason, fromWire, toWire } from '../src/bullmq/wire-error.js';

const settings = resolvePayload({ maxPayloadBytes: 1 << 20 });

/** Values structured clone keeps: primitives, bigint, Dates, typed arrays, Maps, Sets, nesting. */
const clonable = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.double(),
    fc.bigInt(),
    fc.boolean(),
    fc.constantFrom(null, undefined),
    fc.date({ noInvalidDate: true }),
    fc.int32Array(),
    fc.float64Array(),
    fc.uint8Array(),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 5 }),
    fc.array(fc.tuple(fc.string(), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
    fc.array(fc.integer(), { maxLength: 5 }).map((items) => new Set(items)),
  ),
})).value;

describe('payload codec', () => {
  test.prop([clonable, fc.boolean()])(
    'what structured clone keeps comes back equal, compressed or not',
    async (value, compress) => {
      const chosen = compress
        ? resolvePayload({ compression: { thresholdBytes: 0 } })
        : resolvePayload({ compression: false });
      const packed = await pack(value, chosen, 'the input');
      expect((await unpack(packed.z, packed.p, chosen, 'job 1')).value).toEqual(value);
    },
  );

  it('compresses above the threshold with the algorithm asked for, and stores incompressible bytes as they are', async () => {
    const text = 'the quick brown fox jumps over the lazy dog '.repeat(100);
    expect((await pack(text.slice(0, 500), settings, 'x')).z).toBe('n');
    const brotli = await pack(text, settings, 'x');
    expect(brotli.z).toBe('b');
    expect(Buffer.from(brotli.p, 'base64').length).toBeLessThan(brotli.bytes / 10);
    expect((await pack(text, resolvePayload({ compression: { algorithm: 'gzip' } }), 'x')).z).toBe('g');
    const noise = new Uint8Array(randomBytes(8192));
    const raw = await pack(noise, settings, 'x');
    expect(raw.z).toBe('n');
    expect((await unpack(raw.z, raw.p, settings, 'x')).value).toEqual(noise);
  });

  it('refuses to pack past maxPayloadBytes with PayloadTooLargeError naming the size and the limit', async () => {
    const error = await pack(new Uint8Array(2 << 20), settings, 'the input of task "t"').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).limit).toBe(1 << 20);
    expect((error as PayloadTooLargeError).bytes).toBeGreaterThan(2 << 20);
    expect((error as Error).message).toMatch(
      /the input of task "t" is \d+ bytes serialized, over maxPayloadBytes \(1048576\)/,
    );
  });

  it('a value v8 cannot serialize is a DataCloneError', async () => {
    await expect(pack({ f: () => 1 }, settings, 'x')).rejects.toBeInstanceOf(DataCloneError);
    await expect(pack(new SharedArrayBuffer(4), settings, 'x')).rejects.toBeInstanceOf(DataCloneError);
  });

  it('refuses an over-long stored payload before decoding it, and a compression bomb at the limit', async () => {
    const long = 'A'.repeat(((1 << 20) / 3) * 4 + 8);
    await expect(unpack('n', long, settings, 'job 1')).rejects.toBeInstanceOf(PayloadTooLargeError);
    for (const [z, bomb] of [
      ['b', brotliCompressSync(Buffer.alloc(16 << 20), { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } })],
      ['g', gzipSync(Buffer.alloc(16 << 20), { level: 9 })],
    ] as const) {
      expect(bomb.length).toBeLessThan(64 * 1024);
      await expect(unpack(z, bomb.toString('base64'), settings, 'job 1')).rejects.toBeInstanceOf(
        PayloadTooLargeError,
      );
    }
  });

  it('anything malformed is a BadPayloadError: packing, base64, compressed stream, v8 bytes', async () => {
    const v8bytes = serialize({ a: 1 }).toString('base64');
    const cases: [unknown, unknown][] = [
      ['x', v8bytes],
      [undefined, v8bytes],
      ['n', 42],
      ['n', 'not base64!'],
      ['n', 'abc'],
      ['b', Buffer.from('not brotli at all').toString('base64')],
      ['g', Buffer.from('not gzip').toString('base64')],
      ['n', Buffer.from('not v8').toString('base64')],
      ['n', Buffer.from([0xff, 0x0f, 0x61, 0x80, 0x80, 0x80, 0x80, 0x08]).toString('base64')],
    ];
    for (const [z, p] of cases) {
      await expect(unpack(z, p, settings, 'job 7')).rejects.toBeInstanceOf(BadPayloadError);
    }
  });
});

describe('results', () => {
  it('carry values and errors item by item; a result too large or unserializable fails alone', async () => {
    const small = resolvePayload({ maxPayloadBytes: 256 * 1024 });
    const values: unknown[] = [1, new Uint8Array(200 * 1024).map((_, i) => (i * 7919) % 251), () => 3, 4];
    const errors = new Map<number, unknown>([[3, new RangeError('no')]]);
    const result = await encodeResult(values, errors, { ms: 5, node: 'n1', task: 't' }, small);
    const { outcomes, ms, node } = await decodeResult('42', result, 4, small);
    expect(ms).toBe(5);
    expect(node).toBe('n1');
    expect(outcomes[0]).toEqual({ ok: true, value: 1 });
    expect(outcomes[1]).toMatchObject({ ok: false, error: expect.any(PayloadTooLargeError) as unknown });
    expect(outcomes[2]).toMatchObject({ ok: false, error: expect.any(DataCloneError) as unknown });
    expect(outcomes[3]).toMatchObject({ ok: false, error: { name: 'RangeError', message: 'no' } });
  });

  it('a result of the wrong shape is a BadPayloadError', async () => {
    const ok = await encodeResult([1, 2], new Map(), { ms: 1, node: 'n', task: 't' }, settings);
    await expect(decodeResult('1', ok, 3, settings)).rejects.toBeInstanceOf(BadPayloadError);
    await expect(decodeResult('1', { hello: 1 }, 2, settings)).rejects.toBeInstanceOf(BadPayloadError);
    const stray = await pack([[1, 2], [[5, { message: 'x' }]]], settings, 'x');
    await expect(
      decodeResult('1', { no: 1, ...stray, ms: 1, node: 'n' }, 2, settings),
    ).rejects.toBeInstanceOf(BadPayloadError);
  });
});

describe('errors across the wire', () => {
  const classes = errorClasses<api.OrchestratorError>(api);

  it('every error class comes back as itself, with its name, code, message and the remote stack', () => {
    expect(classes.length).toBe(Object.keys(api.ErrorCodes).length);
    for (const [name, Class] of classes) {
      const original = new Class(`a ${name}`);
      const revived = fromWire(toWire(original), 'on node n1, job 9');
      expect(revived).toBeInstanceOf(Class);
      expect(revived.name).toBe(name);
      expect(revived).toMatchObject({ code: original.code });
      expect(revived.message).toBe(`a ${name}`);
      expect(revived.stack).toContain(original.stack?.split('\n')[1]);
      expect(revived.stack).toMatch(/\[on node n1, job 9\]$/);
      const failed = fromFailedReason(failedReason(original), '9');
      expect(failed).toBeInstanceOf(Class);
      expect(failed.message).toBe(`a ${name}`);
    }
  });

  it("TaskFailedError keeps the task's name, the remote error's name and code", () => {
    const original = new api.TaskFailedError('boom');
    Object.assign(original, { taskName: 'parse', remoteName: 'SyntaxError', remoteCode: 'E_PARSE' });
    const revived = fromWire(toWire(original), 'here');
    expect(revived).toBeInstanceOf(api.TaskFailedError);
    expect(revived).toMatchObject({ taskName: 'parse', remoteName: 'SyntaxError', remoteCode: 'E_PARSE' });
  });

  it('a foreign error keeps its name and code; a thrown non-error becomes an Error with its text', () => {
    const foreign = Object.assign(new TypeError('bad'), { code: 'E_OWN' });
    const revived = fromWire(toWire(foreign), 'here');
    expect([revived.name, (revived as { code?: string }).code, revived.message]).toEqual([
      'TypeError',
      'E_OWN',
      'bad',
    ]);
    expect(fromWire(toWire('just text'), 'here').message).toBe('just text');
    expect(fromWire({ name: 7, message: { no: 1 } }, 'here').message).toBe('Unknown error');
  });

  it("BullMQ's own failure reasons become WorkerCrashedError (stalled too often) or JobFailedError", () => {
    expect(fromFailedReason('job stalled more than allowable limit', '3')).toBeInstanceOf(
      api.WorkerCrashedError,
    );
    const other = fromFailedReason('something else', '3');
    expect(other).toBeInstanceOf(api.JobFailedError);
    expect(other).toMatchObject({ jobId: '3' });
    expect(fromFailedReason('ERR_NOT_OURS: x', '3')).toBeInstanceOf(api.JobFailedError);
  });
});
