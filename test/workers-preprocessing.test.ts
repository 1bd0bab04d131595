import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { Orchestrator } from 'node-orchestrator';
import { preprocess } from '../workers/lib/image.js';
import { patternImage } from '../src/demo/dataset.js';

const open: Orchestrator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

/** A PNG whose left half is pure red and right half pure blue. */
function halfRedHalfBlue(width: number, height: number): Uint8Array {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const red = x < width / 2;
      png.data[i] = red ? 255 : 0;
      png.data[i + 1] = 0;
      png.data[i + 2] = red ? 0 : 255;
      png.data[i + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

describe('preprocessImage', () => {
  it('normalizes a solid color to (c/255 - mean)/std per channel, for PNG and JPEG', () => {
    const mean: [number, number, number] = [0.5, 0.5, 0.5];
    const std: [number, number, number] = [0.25, 0.25, 0.25];
    const png = new PNG({ width: 8, height: 8 });
    for (let i = 0; i < 64; i++) png.data.set([51, 102, 204, 255], i * 4);
    const out = preprocess({ image: new Uint8Array(PNG.sync.write(png)), width: 4, height: 4, mean, std });
    expect(out.shape).toEqual([3, 4, 4]);
    const expected = [51, 102, 204].map((c) => (c / 255 - 0.5) / 0.25);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 16; i++) expect(out.tensor[c * 16 + i]).toBeCloseTo(expected[c]!, 5);
    const jpeg = preprocess({ image: patternImage(64, 48, 3, 'jpeg'), width: 16, height: 12 });
    expect(jpeg.shape).toEqual([3, 12, 16]);
    expect(jpeg.tensor.every(Number.isFinite)).toBe(true);
  });

  it('lays channels out CHW: left half red, right half blue', () => {
    const out = preprocess({
      image: halfRedHalfBlue(8, 4),
      width: 8,
      height: 4,
      mean: [0, 0, 0],
      std: [1, 1, 1],
    });
    const at = (c: number, y: number, x: number): number => out.tensor[c * 32 + y * 8 + x]!;
    expect(at(0, 2, 0)).toBeCloseTo(1, 5);
    expect(at(2, 2, 0)).toBeCloseTo(0, 5);
    expect(at(0, 2, 7)).toBeCloseTo(0, 5);
    expect(at(2, 2, 7)).toBeCloseTo(1, 5);
    expect(at(1, 1, 3)).toBeCloseTo(0, 5);
  });

  it('refuses corrupt or unknown bytes with a clear error', () => {
    expect(() => preprocess({ image: new Uint8Array([1, 2, 3, 4]), width: 2, height: 2 })).toThrow(
      /PNG or JPEG/,
    );
    expect(() => preprocess({ image: new Uint8Array(4), width: 0, height: 2 })).toThrow(
      /width must be an integer >= 1, got 0/,
    );
  });
});

describe('the shipped workers through the orchestrator', () => {
  it('tokenize and preprocessImage return moved typed arrays', async () => {
    const text = new Orchestrator({
      worker: new URL('../dist/workers/text.js', import.meta.url),
      adaptive: false,
    });
    const image = new Orchestrator({
      worker: new URL('../dist/workers/image.js', import.meta.url),
      adaptive: false,
    });
    open.push(text, image);
    const tokens = (await text.run('tokenize', { text: 'hello world', maxLength: 4, padding: true })) as {
      ids: Int32Array;
    };
    expect(tokens.ids).toBeInstanceOf(Int32Array);
    expect(Array.from(tokens.ids)).toEqual([15339, 1917, 0, 0]);
    const tensor = (await image.run('preprocessImage', {
      image: patternImage(32, 32, 1, 'png'),
      width: 8,
      height: 8,
    })) as {
      tensor: Float32Array;
      shape: number[];
    };
    expect(tensor.tensor).toBeInstanceOf(Float32Array);
    expect(tensor.tensor).toHaveLength(3 * 8 * 8);
    expect(tensor.shape).toEqual([3, 8, 8]);
  });
});
