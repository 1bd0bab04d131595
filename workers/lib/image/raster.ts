/**
 * The decoded image every later step works on, and the failure every decoder reports.
 * @module
 */
import { ImageDecodeError } from '../../../src/errors.js';

/** 8-bit RGB pixels, row-major, 3 bytes a pixel. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** An RGB colour, each channel 0–255. */
export type Rgb = readonly [number, number, number];

/** How a decoder treats alpha: dropped (Pillow's `convert('RGB')`), or composited on a colour. */
export interface AlphaOptions {
  readonly background: Rgb | undefined;
}

/** The error of an image that cannot be decoded, naming the format and the reason. */
export function decodeError(format: string, reason: unknown): ImageDecodeError {
  const text = reason instanceof Error ? reason.message : String(reason);
  return new ImageDecodeError(`Cannot decode the image as ${format}: ${text}`, { cause: reason });
}

/** Refuses an image larger than `maxPixels` before its pixels are allocated. */
export function checkSize(format: string, width: number, height: number, maxPixels: number): void {
  if (width < 1 || height < 1) throw decodeError(format, `it is ${width}×${height} pixels`);
  if (width * height > maxPixels) {
    throw decodeError(format, `it is ${width}×${height} pixels, more than maxPixels (${maxPixels})`);
  }
}

/**
 * `color` over `background` with 8-bit `alpha`, rounded exactly as Pillow's `alpha_composite`
 * rounds on an opaque background (integer arithmetic with 7 extra bits).
 */
export function composite(color: number, alpha: number, background: number): number {
  const t = (color * alpha + background * (255 - alpha)) * 128 + 0x4000;
  return (((t >> 8) + t) >> 8) >> 7;
}
