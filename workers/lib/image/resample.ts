/**
 * Pillow's resampling (libImaging/Resample.c), for 8-bit RGB: a separable convolution whose
 * filter support widens with the downscale factor (so downscaling averages every source pixel:
 * antialiasing), horizontal pass first into an 8-bit intermediate, then vertical, with Pillow's
 * fixed-point coefficients (22 fractional bits) and rounding. Same inputs, same bytes.
 * @module
 */
import type { Raster } from './raster.js';

/** The resampling filters, as Pillow's `Image.Resampling.BILINEAR` and `BICUBIC`. */
export type Filter = 'bilinear' | 'bicubic';

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

const FILTERS: Readonly<Record<Filter, { support: number; weight: (x: number) => number }>> = {
  bilinear: {
    support: 1,
    weight: (x) => {
      const d = x < 0 ? -x : x;
      return d < 1 ? 1 - d : 0;
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const d = x < 0 ? -x : x;
      if (d < 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
      if (d < 2) return (((d - 5) * d + 8) * d - 4) * a;
      return 0;
    },
  },
};

/** Fixed-point taps of one axis, for output positions `first … first + count - 1`. */
interface Taps {
  /** Per output position: the first source index and the number of taps. */
  readonly bounds: Int32Array;
  readonly weights: Int32Array;
  readonly size: number;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for a part of the output. */
function taps(inSize: number, outSize: number, filter: Filter, first: number, count: number): Taps {
  const { support: base, weight } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = base * filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(count * 2);
  const weights = new Int32Array(count * size);
  const k = new Float64Array(size);
  // A multiplication by the reciprocal, not a division: the last bit of each weight must match.
  const ss = 1 / filterScale;
  for (let i = 0; i < count; i++) {
    const center = (first + i + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const n = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let total = 0;
    for (let x = 0; x < n; x++) {
      const w = weight((x + xmin - center + 0.5) * ss);
      k[x] = w;
      total += w;
    }
    for (let x = 0; x < n; x++) {
      const w = total === 0 ? (k[x] as number) : (k[x] as number) / total;
      weights[i * size + x] = Math.trunc(
        w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS),
      );
    }
    bounds[i * 2] = xmin;
    bounds[i * 2 + 1] = n;
  }
  return { bounds, weights, size };
}

function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** The part of the resized image to produce: `width × height` pixels from (`left`, `top`). */
export interface Window {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Pixels `window` of `source` resized to `resizedWidth × resizedHeight` (as Pillow's
 * `resize((resizedWidth, resizedHeight), filter)` followed by a crop to `window`, but computing
 * only the window). An axis whose size does not change is not resampled, as in Pillow.
 * `check` runs between rows.
 */
export function resample(
  source: Raster,
  resizedWidth: number,
  resizedHeight: number,
  window: Window,
  filter: Filter,
  check: () => void,
): Raster {
  const vertical =
    resizedHeight === source.height
      ? undefined
      : taps(source.height, resizedHeight, filter, window.top, window.height);
  // The source rows the window needs.
  const firstRow = vertical === undefined ? window.top : (vertical.bounds[0] as number);
  const endRow =
    vertical === undefined
      ? window.top + window.height
      : (vertical.bounds[vertical.bounds.length - 2] as number) +
        (vertical.bounds[vertical.bounds.length - 1] as number);
  const rows =
    resizedWidth === source.width
      ? cropColumns(source, firstRow, endRow, window)
      : horizontal(
          source,
          firstRow,
          endRow,
          taps(source.width, resizedWidth, filter, window.left, window.width),
          check,
        );
  if (vertical === undefined) return { width: window.width, height: window.height, data: rows };
  return {
    width: window.width,
    height: window.height,
    data: verticalPass(rows, window, vertical, firstRow, check),
  };
}

function cropColumns(source: Raster, firstRow: number, endRow: number, window: Window): Uint8Array {
  const out = new Uint8Array((endRow - firstRow) * window.width * 3);
  for (let y = firstRow; y < endRow; y++) {
    const from = (y * source.width + window.left) * 3;
    out.set(source.data.subarray(from, from + window.width * 3), (y - firstRow) * window.width * 3);
  }
  return out;
}

function horizontal(
  source: Raster,
  firstRow: number,
  endRow: number,
  t: Taps,
  check: () => void,
): Uint8Array {
  const { data } = source;
  const { bounds, weights, size } = t;
  const width = bounds.length / 2;
  const out = new Uint8Array((endRow - firstRow) * width * 3);
  let o = 0;
  for (let y = firstRow; y < endRow; y++) {
    check();
    const row = y * source.width * 3;
    for (let xx = 0; xx < width; xx++) {
      const n = bounds[xx * 2 + 1] as number;
      const k0 = xx * size;
      let p = row + (bounds[xx * 2] as number) * 3;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let x = 0; x < n; x++, p += 3) {
        const k = weights[k0 + x] as number;
        s0 += (data[p] as number) * k;
        s1 += (data[p + 1] as number) * k;
        s2 += (data[p + 2] as number) * k;
      }
      out[o++] = clip8(s0);
      out[o++] = clip8(s1);
      out[o++] = clip8(s2);
    }
  }
  return out;
}

function verticalPass(
  rows: Uint8Array,
  window: Window,
  t: Taps,
  firstRow: number,
  check: () => void,
): Uint8Array {
  const { bounds, weights, size } = t;
  const stride = window.width * 3;
  const out = new Uint8Array(window.height * stride);
  for (let yy = 0; yy < window.height; yy++) {
    check();
    const n = bounds[yy * 2 + 1] as number;
    const k0 = yy * size;
    const top = ((bounds[yy * 2] as number) - firstRow) * stride;
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      for (let y = 0, p = top + i; y < n; y++, p += stride)
        s += (rows[p] as number) * (weights[k0 + y] as number);
      out[yy * stride + i] = clip8(s);
    }
  }
  return out;
}
