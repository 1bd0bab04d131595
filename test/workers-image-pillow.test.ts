/**
 * The image worker held against Pillow on real photographs (test/fixtures/images) and on exotic
 * PNG/JPEG variants Pillow generates from them: every fit mode and both filters, downscaling
 * large images and upscaling small ones. PNG: the same bytes as Pillow (issue #12 asks for a
 * mean absolute difference ≤ 0.1 level of 255; the same pixels go in, and Pillow's resampling
 * is reproduced exactly). JPEG: mean ≤ 1 level (jpeg-js and libjpeg-turbo decode the same file
 * slightly differently: IDCT rounding and chroma upsampling).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocess } from '../workers/lib/image/preprocess.js';
import { difference, pillowAvailable, runPillow, type PillowCase, type PillowRun } from './support/pillow.js';

const FITS = ['fill', 'cover', 'contain'] as const;
const FILTERS = ['bilinear', 'bicubic'] as const;
const REAL = ['retina.jpg', 'hubble_deep_field.jpg', 'rocket.jpg', 'coffee.png', 'chelsea.png', 'camera.png'];
const PNG_VARIANTS = [
  'coffee-rgb16.png',
  'coffee-gray16.png',
  'coffee-rgba16.png',
  'coffee-rgba.png',
  'coffee-interlaced.png',
  'coffee-key.png',
  'coffee-palette.png',
  'coffee-palette-alpha.png',
  'camera-la.png',
  'camera-1bit.png',
  'camera-2bit.png',
  'camera-4bit.png',
  'retina-large.png',
];
const WITH_ALPHA = [
  'coffee-rgba16.png',
  'coffee-rgba.png',
  'coffee-key.png',
  'coffee-palette-alpha.png',
  'camera-la.png',
];
const JPEG_VARIANTS = ['retina-progressive.jpg', 'rocket-444.jpg', 'hubble-gray.jpg'];
const PAD: [number, number, number] = [114, 114, 114];

const cases: PillowCase[] = [];
const add = (c: Omit<PillowCase, 'id' | 'padValue'> & { padValue?: [number, number, number] }): void => {
  cases.push({ padValue: PAD, ...c, id: `case${cases.length}` });
};
for (const file of REAL)
  for (const fit of FITS) for (const filter of FILTERS) add({ file, fit, filter, width: 224, height: 224 });
for (const file of ['retina.jpg', 'chelsea.png'])
  for (const fit of FITS) for (const filter of FILTERS) add({ file, fit, filter, width: 320, height: 192 });
for (const fit of FITS) add({ file: 'chelsea.png', fit, filter: 'bicubic', width: 640, height: 512 });
add({ file: 'camera.png', fit: 'fill', filter: 'bilinear', width: 700, height: 600 });
for (const file of PNG_VARIANTS) {
  add({ file, fit: 'cover', filter: 'bilinear', width: 224, height: 224 });
  add({ file, fit: 'contain', filter: 'bicubic', width: 300, height: 200, padValue: [0, 0, 0] });
}
for (const file of WITH_ALPHA) {
  add({ file, fit: 'fill', filter: 'bilinear', width: 256, height: 192, background: [255, 255, 255] });
  add({ file, fit: 'cover', filter: 'bicubic', width: 160, height: 160, background: [0, 128, 255] });
}
for (const file of JPEG_VARIANTS) {
  add({ file, fit: 'fill', filter: 'bilinear', width: 224, height: 224 });
  add({ file, fit: 'cover', filter: 'bicubic', width: 256, height: 160 });
}
for (let orientation = 1; orientation <= 8; orientation++) {
  const file = `rocket-orientation-${orientation}.jpg`;
  add({ file, fit: 'fill', filter: 'bilinear', width: 200, height: 120 });
  add({ file, fit: 'contain', filter: 'bicubic', width: 160, height: 160 });
}

const isPng = (file: string): boolean => file.endsWith('.png');
const title = (c: PillowCase): string =>
  `${c.file} ${c.fit} ${c.filter} ${c.width}×${c.height}${c.background ? ` on rgb(${c.background.join(',')})` : ''}`;

describe.skipIf(!pillowAvailable())('preprocessImage against Pillow on real images', () => {
  let pillow: PillowRun;
  beforeAll(() => {
    pillow = runPillow(cases);
  }, 180_000);
  afterAll(() => pillow.remove());

  /** Our uint8 HWC pixels for a case. */
  const ours = (c: PillowCase): Uint8Array =>
    preprocess({ ...c, image: pillow.bytes(c.file), dtype: 'uint8', layout: 'hwc' }).tensor as Uint8Array;

  it.each(cases.filter((c) => isPng(c.file)).map((c) => [title(c), c] as const))(
    '%s: the same bytes as Pillow',
    (_, c) => {
      expect(difference(ours(c), pillow.pixels(c.id))).toEqual({ mean: 0, max: 0 });
    },
  );

  it.each(cases.filter((c) => !isPng(c.file)).map((c) => [title(c), c] as const))(
    '%s: within 1 level of Pillow on average',
    (_, c) => {
      const { mean, max } = difference(ours(c), pillow.pixels(c.id));
      expect(mean, `mean ${mean.toFixed(3)}, max ${max}`).toBeLessThanOrEqual(1);
    },
  );

  it('gives the same pixels as float32 CHW, normalized with mean and std', () => {
    const mean: [number, number, number] = [0.5, 0.4, 0.3];
    const std: [number, number, number] = [0.2, 0.25, 0.3];
    for (const c of cases.filter((k) => k.file === 'coffee.png' || k.file === 'rocket.jpg')) {
      const { tensor, shape } = preprocess({ ...c, image: pillow.bytes(c.file), mean, std });
      expect(tensor).toBeInstanceOf(Float32Array);
      expect(shape).toEqual([3, c.height, c.width]);
      const plane = c.width * c.height;
      const levels = new Float64Array(3 * plane);
      for (let i = 0; i < plane; i++)
        for (let ch = 0; ch < 3; ch++)
          levels[i * 3 + ch] = ((tensor[ch * plane + i] as number) * std[ch]! + mean[ch]!) * 255;
      expect(difference(levels, ours(c)).max).toBeLessThan(1e-3);
    }
  });
});
