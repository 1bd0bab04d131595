/**
 * The demo's embedded dataset, generated deterministically: a text corpus from a seeded word
 * generator and PNG/JPEG images of seeded patterns. Nothing is downloaded.
 * @module
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { seededRandom } from '../internal/random.js';

const WORDS = (
  'the a of to and in is it that for on with as was at by an be this from or which are have not but ' +
  'tokenizer image tensor batch worker thread pool queue limit signal abort metric latency throughput ' +
  'river mountain winter summer garden window morning evening quiet bright careful gentle rapid ' +
  'model input output vector matrix scale normalize resize decode encode stream record dataset'
).split(' ');

/** `count` sentences of 8–40 words, the same for the same seed. */
export function* textCorpus(count: number, seed = 1): Generator<string> {
  const random = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    const length = 8 + Math.floor(random() * 33);
    const words = Array.from({ length }, () => WORDS[Math.floor(random() * WORDS.length)] as string);
    yield `${words.join(' ')}.`;
  }
}

/** One encoded image of a seeded gradient-and-stripes pattern. */
export function patternImage(
  width: number,
  height: number,
  seed: number,
  format: 'png' | 'jpeg',
): Uint8Array {
  const random = seededRandom(seed);
  const [r0, g0, b0] = [random() * 255, random() * 255, random() * 255];
  const stripes = 2 + Math.floor(random() * 8);
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const stripe = Math.floor((x / width) * stripes) % 2;
      data[i] = (r0 + (x * 128) / width) % 256;
      data[i + 1] = (g0 + (y * 128) / height) % 256;
      data[i + 2] = stripe === 0 ? b0 : 255 - b0;
      data[i + 3] = 255;
    }
  }
  if (format === 'jpeg') return new Uint8Array(jpeg.encode({ data, width, height }, 85).data);
  const png = new PNG({ width, height });
  data.copy(png.data);
  return new Uint8Array(PNG.sync.write(png));
}
