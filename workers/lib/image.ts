import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** Input of the `preprocessImage` task. */
export interface ImageInput {
  /** The encoded PNG or JPEG bytes. */
  image: Uint8Array | ArrayBuffer;
  /** Output width in pixels. */
  width: number;
  /** Output height in pixels. */
  height: number;
  /** Per-channel mean (RGB, on 0..1 values). @default ImageNet [0.485, 0.456, 0.406] */
  mean?: [number, number, number];
  /** Per-channel standard deviation. @default ImageNet [0.229, 0.224, 0.225] */
  std?: [number, number, number];
}

/** Output of the `preprocessImage` task: a CHW float tensor. */
export interface ImageOutput {
  tensor: Float32Array;
  shape: [3, number, number];
}

/** Decoded RGBA pixels. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/** Decodes PNG or JPEG bytes (told apart by their magic bytes) to RGBA. */
export function decodeImage(bytes: Uint8Array): Rgba {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return {
      width: png.width,
      height: png.height,
      data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
    };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: decoded.width, height: decoded.height, data: decoded.data };
  }
  throw new TypeError('image must be PNG or JPEG bytes (unrecognized magic bytes)');
}

/**
 * Resizes (bilinear, aligned corners off) and normalizes to a CHW Float32 tensor:
 * `(pixel / 255 - mean[c]) / std[c]`. Alpha is dropped (pixels are used as stored).
 */
export function preprocess(input: ImageInput, check: () => void = () => undefined): ImageOutput {
  if (typeof input !== 'object' || (input as unknown) === null)
    throw new TypeError('input must be an object');
  const { width, height, mean = IMAGENET_MEAN, std = IMAGENET_STD } = input;
  for (const [field, value] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`${field} must be an integer >= 1, got ${String(value)}`);
  }
  const bytes = input.image instanceof ArrayBuffer ? new Uint8Array(input.image) : input.image;
  if (!(bytes instanceof Uint8Array)) throw new TypeError('image must be a Uint8Array or ArrayBuffer');
  const source = decodeImage(bytes);
  const plane = width * height;
  const tensor = new Float32Array(3 * plane);
  const scaleX = source.width / width;
  const scaleY = source.height / height;
  for (let y = 0; y < height; y++) {
    check();
    const sy = Math.min(source.height - 1, Math.max(0, (y + 0.5) * scaleY - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(source.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(source.width - 1, Math.max(0, (x + 0.5) * scaleX - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(source.width - 1, x0 + 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number): number => source.data[(yy * source.width + xx) * 4 + c] as number;
        const top = p(y0, x0) * (1 - fx) + p(y0, x1) * fx;
        const bottom = p(y1, x0) * (1 - fx) + p(y1, x1) * fx;
        const value = (top * (1 - fy) + bottom * fy) / 255;
        tensor[c * plane + y * width + x] = (value - (mean[c] as number)) / (std[c] as number);
      }
    }
  }
  return { tensor, shape: [3, height, width] };
}
