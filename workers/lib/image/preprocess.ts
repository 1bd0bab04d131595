/**
 * Image preprocessing as image models expect it: decode (PNG, JPEG), orient, fit to the model's
 * size with Pillow's antialiased resampling, normalize, lay out as a tensor.
 * @module
 */
import { place, type Fit } from './geometry.js';
import { decodeJpeg, isJpeg } from './jpeg.js';
import { decodePng, isPng } from './png.js';
import { decodeError, type Raster, type Rgb } from './raster.js';
import { resample, type Filter } from './resample.js';

export type { Fit } from './geometry.js';
export type { Filter } from './resample.js';

/** Input of the `preprocessImage` task. */
export interface ImageInput {
  /** The encoded PNG or JPEG bytes, or them in base64 (for JSON input, such as the CLI's). */
  image: Uint8Array | ArrayBuffer | string;
  /** Output width in pixels. */
  width: number;
  /** Output height in pixels. */
  height: number;
  /**
   * `'fill'`: stretched to width × height. `'cover'`: scaled so it covers the output, then the
   * centre is cut out (torchvision's `Resize` + `CenterCrop`). `'contain'`: scaled to fit inside
   * and letterboxed with `padValue` (Pillow's `ImageOps.pad`).
   * @default 'fill'
   */
  fit?: Fit;
  /** Pillow's antialiased `BILINEAR` or `BICUBIC` resampling. @default 'bilinear' */
  filter?: Filter;
  /** Per-channel mean, RGB, on 0..1 values (float32 only). @default ImageNet [0.485, 0.456, 0.406] */
  mean?: readonly [number, number, number];
  /** Per-channel standard deviation (float32 only). @default ImageNet [0.229, 0.224, 0.225] */
  std?: readonly [number, number, number];
  /** `'chw'` (planar, PyTorch) or `'hwc'` (interleaved, TensorFlow). @default 'chw' */
  layout?: 'chw' | 'hwc';
  /** `'float32'`: `(pixel / 255 − mean) / std`. `'uint8'`: the pixels as they are. @default 'float32' */
  dtype?: 'float32' | 'uint8';
  /** Composite transparent pixels on this RGB colour (0–255); without it alpha is dropped. */
  background?: readonly [number, number, number];
  /** The letterbox colour of `contain`, RGB 0–255 (or one number for all three). @default 0 */
  padValue?: number | readonly [number, number, number];
  /** Refuse images with more pixels than this (before decoding them). @default 89478485 (Pillow's) */
  maxPixels?: number;
}

/** Output of the `preprocessImage` task. */
export interface ImageOutput {
  /** The pixels: float32 normalized, or uint8 as they are. */
  tensor: Float32Array | Uint8Array;
  /** `[3, height, width]` for `'chw'`, `[height, width, 3]` for `'hwc'`. */
  shape: [number, number, number];
}

const IMAGENET_MEAN: Rgb = [0.485, 0.456, 0.406];
const IMAGENET_STD: Rgb = [0.229, 0.224, 0.225];
const MAX_SIDE = 16_384;

/** Decodes PNG or JPEG bytes (told apart by their magic bytes) to upright 8-bit RGB. */
export function decodeImage(bytes: Uint8Array, background?: Rgb, maxPixels = 89_478_485): Raster {
  if (isPng(bytes)) return decodePng(bytes, { background }, maxPixels);
  if (isJpeg(bytes)) return decodeJpeg(bytes, maxPixels);
  throw decodeError('PNG or JPEG', `unrecognized leading bytes ${hex(bytes.subarray(0, 4))}`);
}

/** Decodes, fits, normalizes and lays out one image (see {@link ImageInput}). */
export function preprocess(input: ImageInput, check: () => void = () => undefined): ImageOutput {
  const options = checked(input);
  const { width, height } = options;
  const source = decodeImage(options.bytes, options.background, options.maxPixels);
  check();
  const placement = place(options.fit, source.width, source.height, width, height);
  const fitted = resample(
    source,
    placement.resizedWidth,
    placement.resizedHeight,
    placement.window,
    options.filter,
    check,
  );
  const canvas = letterbox(fitted, placement.x, placement.y, width, height, options.padValue);
  const tensor = layOut(canvas, options);
  const shape: [number, number, number] = options.layout === 'chw' ? [3, height, width] : [height, width, 3];
  return { tensor, shape };
}

/** The fitted pixels at (x, y) on a `width × height` canvas of `pad`, unless they fill it. */
function letterbox(
  fitted: Raster,
  x: number,
  y: number,
  width: number,
  height: number,
  pad: Rgb,
): Uint8Array {
  if (fitted.width === width && fitted.height === height) return fitted.data;
  const canvas = new Uint8Array(width * height * 3);
  for (let i = 0; i < canvas.length; i += 3) canvas.set(pad, i);
  for (let row = 0; row < fitted.height; row++) {
    const from = row * fitted.width * 3;
    canvas.set(fitted.data.subarray(from, from + fitted.width * 3), ((y + row) * width + x) * 3);
  }
  return canvas;
}

/** HWC uint8 pixels → the requested dtype and layout, normalizing through a per-channel table. */
function layOut(canvas: Uint8Array, options: Checked): Float32Array | Uint8Array {
  const plane = options.width * options.height;
  const chw = options.layout === 'chw';
  if (options.dtype === 'uint8') {
    if (!chw) return canvas;
    const out = new Uint8Array(canvas.length);
    for (let i = 0; i < plane; i++) {
      out[i] = canvas[i * 3] as number;
      out[plane + i] = canvas[i * 3 + 1] as number;
      out[2 * plane + i] = canvas[i * 3 + 2] as number;
    }
    return out;
  }
  const table = new Float32Array(768);
  for (let c = 0; c < 3; c++)
    for (let v = 0; v < 256; v++)
      table[c * 256 + v] = (v / 255 - (options.mean[c] as number)) / (options.std[c] as number);
  const out = new Float32Array(canvas.length);
  for (let i = 0; i < plane; i++) {
    const r = table[canvas[i * 3] as number] as number;
    const g = table[256 + (canvas[i * 3 + 1] as number)] as number;
    const b = table[512 + (canvas[i * 3 + 2] as number)] as number;
    if (chw) {
      out[i] = r;
      out[plane + i] = g;
      out[2 * plane + i] = b;
    } else {
      out[i * 3] = r;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = b;
    }
  }
  return out;
}

/** Options after validation, with defaults filled in. */
interface Checked {
  bytes: Uint8Array;
  width: number;
  height: number;
  fit: Fit;
  filter: Filter;
  mean: Rgb;
  std: Rgb;
  layout: 'chw' | 'hwc';
  dtype: 'float32' | 'uint8';
  background: Rgb | undefined;
  padValue: Rgb;
  maxPixels: number;
}

function checked(input: ImageInput): Checked {
  if (typeof input !== 'object' || (input as unknown) === null)
    throw new TypeError(`input must be an object with image, width and height, got ${describe(input)}`);
  const image: unknown = input.image;
  const bytes =
    image instanceof ArrayBuffer
      ? new Uint8Array(image)
      : typeof image === 'string'
        ? new Uint8Array(Buffer.from(image, 'base64'))
        : image;
  if (!(bytes instanceof Uint8Array))
    throw new TypeError(
      `image must be a Uint8Array, an ArrayBuffer or a base64 string of PNG or JPEG bytes, got ${describe(image)}`,
    );
  for (const field of ['width', 'height'] as const) {
    const value: unknown = input[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_SIDE)
      throw new RangeError(`${field} must be an integer from 1 to ${MAX_SIDE}, got ${describe(value)}`);
  }
  const dtype = oneOf('dtype', input.dtype ?? 'float32', ['float32', 'uint8'] as const);
  if (dtype === 'uint8' && (input.mean !== undefined || input.std !== undefined))
    throw new RangeError(`mean and std apply to dtype 'float32' only, got dtype 'uint8' with mean/std`);
  const std = triple(
    'std',
    input.std ?? IMAGENET_STD,
    (v) => Number.isFinite(v) && v !== 0,
    'finite, non-zero',
  );
  const maxPixels: unknown = input.maxPixels ?? 89_478_485;
  if (typeof maxPixels !== 'number' || !Number.isInteger(maxPixels) || maxPixels < 1)
    throw new RangeError(`maxPixels must be an integer >= 1, got ${describe(maxPixels)}`);
  const pad = input.padValue ?? 0;
  return {
    bytes,
    width: input.width,
    height: input.height,
    fit: oneOf('fit', input.fit ?? 'fill', ['fill', 'cover', 'contain'] as const),
    filter: oneOf('filter', input.filter ?? 'bilinear', ['bilinear', 'bicubic'] as const),
    mean: triple('mean', input.mean ?? IMAGENET_MEAN, Number.isFinite, 'finite'),
    std,
    layout: oneOf('layout', input.layout ?? 'chw', ['chw', 'hwc'] as const),
    dtype,
    background:
      input.background === undefined
        ? undefined
        : triple('background', input.background, isLevel, 'integers 0–255'),
    padValue: triple('padValue', typeof pad === 'number' ? [pad, pad, pad] : pad, isLevel, 'integers 0–255'),
    maxPixels,
  };
}

function isLevel(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 255;
}

function oneOf<const T extends readonly string[]>(field: string, value: unknown, allowed: T): T[number] {
  if (!allowed.includes(value as string))
    throw new RangeError(
      `${field} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`,
    );
  return value as T[number];
}

function triple(field: string, value: unknown, ok: (v: number) => boolean, expected: string): Rgb {
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'number' && ok(v)))
    throw new RangeError(`${field} must be 3 numbers (${expected}), got ${describe(value)}`);
  return value as unknown as Rgb;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => describe(v)).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (value === null || typeof value !== 'object') return String(value);
  return 'an object';
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ') || '(empty)';
}
