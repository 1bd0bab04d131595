/**
 * PNG decoding with pngjs, to the pixels Pillow's `convert('RGB')` gives: every colour type and
 * bit depth, palettes, alpha dropped or composited on a background.
 * @module
 */
import { PNG } from 'pngjs';
import { checkSize, composite, decodeError, type AlphaOptions, type Raster } from './raster.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PALETTE = 3;

/** Whether `bytes` start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return SIGNATURE.every((byte, i) => bytes[i] === byte);
}

/** What the chunks say before any pixel is decoded. */
interface Header {
  width: number;
  height: number;
  colorType: number;
  /** A grey or RGB colour-key (tRNS of colour type 0 or 2), in raw samples. */
  key: number[] | undefined;
  /** The file without that tRNS chunk (pngjs would zero the keyed pixels' colour too). */
  bytes: Uint8Array;
}

function readHeader(bytes: Uint8Array): Header {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33 || view.getUint32(12) !== 0x49484452) throw new Error('no IHDR chunk');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const colorType = bytes[25] as number;
  let key: number[] | undefined;
  let stripped = bytes;
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = view.getUint32(at + 4);
    const end = at + 12 + length;
    if (type === 0x74524e53 && colorType !== PALETTE && end <= bytes.length) {
      key = [];
      for (let i = 0; i + 1 < length; i += 2) key.push(view.getUint16(at + 8 + i));
      stripped = new Uint8Array(bytes.length - (end - at));
      stripped.set(bytes.subarray(0, at));
      stripped.set(bytes.subarray(end), at);
      break;
    }
    if (type === 0x49444154) break; // tRNS comes before the first IDAT
    at = end;
  }
  return { width, height, colorType, key, bytes: stripped };
}

/** Decodes a PNG to 8-bit RGB. Throws {@link decodeError} for a corrupt or too large file. */
export function decodePng(bytes: Uint8Array, alpha: AlphaOptions, maxPixels: number): Raster {
  let header: Header;
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    header = readHeader(bytes);
    checkSize('PNG', header.width, header.height, maxPixels);
    const buffer = Buffer.from(header.bytes.buffer, header.bytes.byteOffset, header.bytes.byteLength);
    png = PNG.sync.read(buffer, { skipRescale: true });
  } catch (error) {
    if (error instanceof Error && error.name === 'ImageDecodeError') throw error;
    // pngjs's words for a file that ends before its image data does.
    const truncated = error instanceof Error && error.message.includes('waitng on finished stream');
    throw decodeError('PNG', truncated ? 'the file is truncated (it ends before its image data)' : error);
  }
  // Typed as a Buffer, but 16-bit samples come as a Uint16Array with skipRescale.
  const samples: Uint8Array | Uint16Array = png.data;
  return toRgb(samples, png.width, png.height, png.depth, header, alpha);
}

/**
 * pngjs gives 4 raw samples a pixel. Pillow keeps the high byte of 16-bit samples (Pillow's own
 * `convert('RGB')` clips 16-bit greyscale at 255 instead; we keep the high byte there too) and
 * scales 1-, 2- and 4-bit grey to 0–255.
 */
function toRgb(
  samples: Uint8Array | Uint16Array,
  width: number,
  height: number,
  depth: number,
  header: Header,
  { background }: AlphaOptions,
): Raster {
  const scale = new Uint8Array(depth === 16 ? 0 : 256);
  const factor = header.colorType === PALETTE || depth >= 8 ? 1 : 255 / (2 ** depth - 1);
  for (let v = 0; v < scale.length; v++) scale[v] = Math.min(255, v * factor);
  const eight = (v: number): number => (depth === 16 ? v >> 8 : (scale[v] as number));
  const key = header.key;
  const pixels = width * height;
  const data = new Uint8Array(pixels * 3);
  for (let i = 0, s = 0, o = 0; i < pixels; i++, s += 4, o += 3) {
    const r = samples[s] as number;
    const g = samples[s + 1] as number;
    const b = samples[s + 2] as number;
    if (background === undefined) {
      data[o] = eight(r);
      data[o + 1] = eight(g);
      data[o + 2] = eight(b);
      continue;
    }
    let a = eight(samples[s + 3] as number);
    if (key !== undefined && r === key[0] && (key.length === 1 || (g === key[1] && b === key[2]))) a = 0;
    data[o] = composite(eight(r), a, background[0]);
    data[o + 1] = composite(eight(g), a, background[1]);
    data[o + 2] = composite(eight(b), a, background[2]);
  }
  return { width, height, data };
}
