/**
 * Bytes the image worker cannot decode fail with a typed ImageDecodeError (ERR_IMAGE_DECODE)
 * that names the format and the reason, in the worker and through map, one item at a time.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageDecodeError, Orchestrator, TaskFailedError, type MapRecord } from 'node-orchestrator';
import { preprocess, type ImageInput } from '../workers/lib/image/preprocess.js';
import { FIXTURES } from './support/pillow.js';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(`${FIXTURES}${name}`));
const png = fixture('coffee.png');
const jpeg = fixture('rocket.jpg');

/** A copy of `bytes` with a big-endian uint32 written at `at`. */
function patched(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, value);
  return copy;
}

/** A copy of `bytes` with a big-endian uint16 written at `at`. */
function patched16(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint16(at, value);
  return copy;
}

/** Where the SOF0 frame header's height field of a baseline JPEG is. */
function sofHeight(bytes: Uint8Array): number {
  for (let i = 2; i < bytes.length - 1; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xc0) return i + 5;
  throw new Error('no SOF0');
}

const decode =
  (image: Uint8Array, extra: Partial<ImageInput> = {}) =>
  () =>
    preprocess({ image, width: 8, height: 8, ...extra });

describe('undecodable images', () => {
  it.each([
    ['empty bytes', new Uint8Array(), /as PNG or JPEG: unrecognized leading bytes \(empty\)/],
    [
      'a GIF',
      new TextEncoder().encode('GIF89a\u0001\u0000'),
      /as PNG or JPEG: unrecognized leading bytes 47 49 46 38/,
    ],
    ['a PNG cut in half', png.subarray(0, png.length >> 1), /as PNG: the file is truncated/],
    ['a PNG cut after its signature', png.subarray(0, 12), /as PNG: no IHDR chunk/],
    ['a PNG with corrupt image data', patched(png, 4000, 0xdeadbeef), /as PNG: /],
    ['a truncated JPEG (real file)', fixture('truncated.jpg'), /as JPEG: /],
    ['a JPEG cut in half', jpeg.subarray(0, jpeg.length >> 1), /as JPEG: marker was not found/],
  ])('%s: ImageDecodeError naming the format and the reason', (_, image, message) => {
    expect(decode(image)).toThrow(ImageDecodeError);
    expect(decode(image)).toThrow(message);
    try {
      decode(image)();
    } catch (error) {
      expect((error as ImageDecodeError).code).toBe('ERR_IMAGE_DECODE');
    }
  });

  it('refuses a PNG or JPEG whose header claims more than maxPixels, before decoding it', () => {
    expect(decode(patched(png, 16, 500_000))).toThrow(
      /as PNG: it is 500000×400 pixels, more than maxPixels \(89478485\)/,
    );
    expect(decode(png, { maxPixels: 1000 })).toThrow(
      /as PNG: it is 600×400 pixels, more than maxPixels \(1000\)/,
    );
    const huge = patched16(patched16(jpeg, sofHeight(jpeg), 60_000), sofHeight(jpeg) + 2, 60_000);
    expect(decode(huge)).toThrow(/as JPEG: it is 60000×60000 pixels, more than maxPixels \(89478485\)/);
  });

  it('names the field and the value of bad options', () => {
    expect(decode(png, { width: 0 })).toThrow(/width must be an integer from 1 to 16384, got 0/);
    expect(decode(png, { fit: 'stretch' as never })).toThrow(
      /fit must be one of 'fill', 'cover', 'contain', got "stretch"/,
    );
    expect(decode(png, { filter: 'lanczos' as never })).toThrow(
      /filter must be one of 'bilinear', 'bicubic', got "lanczos"/,
    );
    expect(decode(png, { std: [1, 0, 1] })).toThrow(
      /std must be 3 numbers \(finite, non-zero\), got \[1, 0, 1\]/,
    );
    expect(decode(png, { background: [0, 0, 300] })).toThrow(
      /background must be 3 numbers \(integers 0–255\), got \[0, 0, 300\]/,
    );
    expect(decode(png, { dtype: 'uint8', mean: [0, 0, 0] })).toThrow(
      /mean and std apply to dtype 'float32' only/,
    );
    expect(() => preprocess({ image: [1, 2] as never, width: 1, height: 1 })).toThrow(
      /image must be a Uint8Array, an ArrayBuffer or a base64 string of PNG or JPEG bytes, got \[1, 2\]/,
    );
  });
});

describe('undecodable images through map', () => {
  let orchestrator: Orchestrator | undefined;
  afterEach(async () => {
    await orchestrator?.close();
  });

  it('fail their own item with ERR_IMAGE_DECODE; the other items succeed and the thread lives on', async () => {
    orchestrator = new Orchestrator({
      worker: new URL('../dist/workers/image.js', import.meta.url),
      adaptive: false,
    });
    const images = [png, new Uint8Array([1, 2, 3]), jpeg, png.subarray(0, 100), jpeg];
    const records: MapRecord[] = [];
    for await (const record of orchestrator.map(
      'preprocessImage',
      images.map((image) => ({ image, width: 32, height: 32 })),
      { ordered: true },
    ))
      records.push(record);
    expect(records.map((r) => r.ok)).toEqual([true, false, true, false, true]);
    for (const index of [1, 3]) {
      const error = (records[index] as { error: Error }).error;
      // Structured clone loses the class: the item's error is a TaskFailedError carrying the code.
      expect(error).toBeInstanceOf(TaskFailedError);
      expect(error).toMatchObject({ remoteCode: 'ERR_IMAGE_DECODE', remoteName: 'ImageDecodeError' });
      expect(error.message).toMatch(/^Cannot decode the image as (PNG|PNG or JPEG): /);
    }
    expect(orchestrator.threads).toBeGreaterThan(0);
  });
});
