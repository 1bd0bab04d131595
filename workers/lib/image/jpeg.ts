/**
 * JPEG decoding with jpeg-js (baseline and progressive, greyscale and colour), with the EXIF
 * orientation applied as Pillow's `ImageOps.exif_transpose` applies it.
 * @module
 */
import jpeg from 'jpeg-js';
import { checkSize, decodeError, type Raster } from './raster.js';

/** Whether `bytes` start with a JPEG SOI marker. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Decodes a JPEG to 8-bit RGB, upright. Throws {@link decodeError} for a corrupt or too large file. */
export function decodeJpeg(bytes: Uint8Array, maxPixels: number): Raster {
  const frame = frameSize(bytes);
  if (frame !== undefined) checkSize('JPEG', frame.width, frame.height, maxPixels);
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.max(512, Math.ceil((maxPixels * 8) / 2 ** 20)),
    });
  } catch (error) {
    throw decodeError('JPEG', error);
  }
  checkSize('JPEG', decoded.width, decoded.height, maxPixels);
  return orient({ width: decoded.width, height: decoded.height, data: decoded.data }, orientation(bytes));
}

/** The segments before the image data: marker and the range of its payload. */
function* segments(bytes: Uint8Array): Generator<{ marker: number; start: number; end: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 2; at + 4 <= bytes.length;) {
    if (bytes[at] !== 0xff) return;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    const end = at + 2 + view.getUint16(at + 2);
    if (end > bytes.length) return;
    yield { marker, start: at + 4, end };
    if (marker === 0xda) return; // start of scan: the headers are over
    at = end;
  }
}

/** The frame's size from its SOF header, so a huge image is refused before it is decoded. */
function frameSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  for (const { marker, start, end } of segments(bytes)) {
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame && end - start >= 5) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
      return { height: view.getUint16(1), width: view.getUint16(3) };
    }
  }
  return undefined;
}

/** The EXIF Orientation tag (1–8) of the first APP1 Exif segment; 1 when absent or malformed. */
export function orientation(bytes: Uint8Array): number {
  for (const { marker, start, end } of segments(bytes)) {
    if (marker !== 0xe1 || end - start < 14) continue;
    const head = String.fromCharCode(...bytes.subarray(start, start + 6));
    if (head !== 'Exif\u0000\u0000') continue;
    const tiff = new DataView(bytes.buffer, bytes.byteOffset + start + 6, end - start - 6);
    const little = tiff.getUint16(0) === 0x4949;
    if (!little && tiff.getUint16(0) !== 0x4d4d) return 1;
    const ifd = tiff.getUint32(4, little);
    if (ifd + 2 > tiff.byteLength) return 1;
    const count = tiff.getUint16(ifd, little);
    for (let i = 0; i < count; i++) {
      const entry = ifd + 2 + i * 12;
      if (entry + 12 > tiff.byteLength) return 1;
      if (tiff.getUint16(entry, little) !== 0x0112) continue;
      const value = tiff.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
    return 1;
  }
  return 1;
}

/**
 * Where output pixel (x, y) comes from, per orientation, for an input of `w × h`:
 * `[sx per x, sx per y, sx offset, sy per x, sy per y, sy offset]`, and whether width and height
 * swap. Pillow's transposes: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE,
 * 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90.
 */
function mapping(o: number, w: number, h: number): [number[], boolean] {
  switch (o) {
    case 2:
      return [[-1, 0, w - 1, 0, 1, 0], false];
    case 3:
      return [[-1, 0, w - 1, 0, -1, h - 1], false];
    case 4:
      return [[1, 0, 0, 0, -1, h - 1], false];
    case 5:
      return [[0, 1, 0, 1, 0, 0], true];
    case 6:
      return [[0, 1, 0, -1, 0, h - 1], true];
    case 7:
      return [[0, -1, w - 1, -1, 0, h - 1], true];
    case 8:
      return [[0, -1, w - 1, 1, 0, 0], true];
    default:
      return [[1, 0, 0, 0, 1, 0], false];
  }
}

/** The raster turned upright for EXIF orientation `o`. */
export function orient(raster: Raster, o: number): Raster {
  if (o === 1) return raster;
  const { width: w, height: h, data } = raster;
  const [m, swap] = mapping(o, w, h);
  const [ax, ay, a0, bx, by, b0] = m as [number, number, number, number, number, number];
  const width = swap ? h : w;
  const height = swap ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0, o3 = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o3 += 3) {
      const s = ((bx * x + by * y + b0) * w + (ax * x + ay * y + a0)) * 3;
      out[o3] = data[s] as number;
      out[o3 + 1] = data[s + 1] as number;
      out[o3 + 2] = data[s + 2] as number;
    }
  }
  return { width, height, data: out };
}
