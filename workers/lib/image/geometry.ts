/**
 * Where the image goes in the output, per fit mode, following the conventions models are
 * trained with: torchvision's `Resize` + `CenterCrop` for cover, Pillow's `ImageOps.pad` for
 * contain, a plain `resize((width, height))` for fill.
 * @module
 */
import type { Window } from './resample.js';

/** How the image fits `width × height`. */
export type Fit = 'fill' | 'cover' | 'contain';

/** The resize, the part of it kept, and where that part lands in the output. */
export interface Placement {
  readonly resizedWidth: number;
  readonly resizedHeight: number;
  /** The part of the resized image that is kept (all of it but for cover). */
  readonly window: Window;
  /** Where the kept part's top-left corner lands in the output (non-zero only for contain). */
  readonly x: number;
  readonly y: number;
}

/** Python's `round()`: halves go to the even neighbour. */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return fraction < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The placement of a `w × h` image in a `width × height` output. */
export function place(fit: Fit, w: number, h: number, width: number, height: number): Placement {
  const whole = (rw: number, rh: number, x = 0, y = 0): Placement => ({
    resizedWidth: rw,
    resizedHeight: rh,
    window: { left: 0, top: 0, width: rw, height: rh },
    x,
    y,
  });
  if (fit === 'fill') return whole(width, height);
  if (fit === 'cover') {
    // torchvision: the side that must grow most is set, the other is int(size * long / short);
    // then CenterCrop at int(round((resized - crop) / 2)).
    const byWidth = width / w >= height / h;
    const rw = byWidth ? width : Math.max(width, Math.trunc((height * w) / h));
    const rh = byWidth ? Math.max(height, Math.trunc((width * h) / w)) : height;
    return {
      resizedWidth: rw,
      resizedHeight: rh,
      window: { left: roundHalfEven((rw - width) / 2), top: roundHalfEven((rh - height) / 2), width, height },
      x: 0,
      y: 0,
    };
  }
  // ImageOps.pad → ImageOps.contain: the image's ratio against the output's decides the side.
  const imageRatio = w / h;
  const outputRatio = width / height;
  if (imageRatio === outputRatio) return whole(width, height);
  if (imageRatio > outputRatio) {
    const rh = Math.max(1, roundHalfEven((h / w) * width));
    return whole(width, rh, 0, roundHalfEven((height - rh) * 0.5));
  }
  const rw = Math.max(1, roundHalfEven((w / h) * height));
  return whole(rw, height, roundHalfEven((width - rw) * 0.5), 0);
}
