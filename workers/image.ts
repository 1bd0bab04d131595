/**
 * Image preprocessing tasks: decode PNG or JPEG (pngjs, jpeg-js: pure JavaScript), orient, fit
 * to the model's size with Pillow's antialiased resampling, normalize, and return the tensor as
 * a moved buffer.
 *
 * ```js
 * const images = new Orchestrator({ worker: import.meta.resolve('node-orchestrator/workers/image') });
 * ```
 * @module
 */
import { defineTask, transfer } from '../src/worker/index.js';
import { preprocess, type ImageInput } from './lib/image/preprocess.js';

export type { ImageInput, ImageOutput, Fit, Filter } from './lib/image/preprocess.js';

/**
 * Encoded image → tensor (`{ tensor, shape }`), moved to the main thread without a copy.
 * Undecodable bytes fail the item with `ERR_IMAGE_DECODE`.
 * @example
 * ```js
 * await images.run('preprocessImage', { image: bytes, width: 224, height: 224, fit: 'cover' });
 * // { tensor: Float32Array(150528), shape: [3, 224, 224] }
 * ```
 */
export const preprocessImage = defineTask(
  (input: ImageInput, ctx) => {
    const output = preprocess(input, () => ctx.throwIfAborted());
    return transfer(output, [output.tensor]);
  },
  { idempotent: true },
);
