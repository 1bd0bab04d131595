/**
 * Image preprocessing: decode PNG/JPEG (pngjs, jpeg-js: pure JavaScript), resize, normalize to a
 * Float32 CHW tensor, returned as a moved buffer.
 * @module
 */
import { defineTask, transfer } from '../src/worker/index.js';
import { preprocess, type ImageInput } from './lib/image.js';

export type { ImageInput, ImageOutput } from './lib/image.js';

/** Encoded image → normalized CHW tensor (`{ tensor, shape }`), moved to the main thread without a copy. */
export const preprocessImage = defineTask((input: ImageInput, ctx) => {
  const output = preprocess(input, () => ctx.throwIfAborted());
  return transfer(output, [output.tensor]);
});
