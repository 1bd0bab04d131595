/**
 * Runs test/support/pillow-reference.py (Debian's /usr/bin/python3 with python3-pil and
 * python3-numpy) and reads what it wrote: the generated image variants and, per case, Pillow's
 * uint8 HWC pixels.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
export const FIXTURES = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./pillow-reference.py', import.meta.url));

/** One comparison: a file (a fixture or a generated variant) through one fit of the pipeline. */
export interface PillowCase {
  id: string;
  file: string;
  width: number;
  height: number;
  fit: 'fill' | 'cover' | 'contain';
  filter: 'bilinear' | 'bicubic';
  background?: [number, number, number];
  padValue: [number, number, number];
}

/**
 * Whether the Pillow tests can run. Without Pillow they skip with a message on a developer's
 * machine; under CI (which installs it) they run, and fail.
 */
export function pillowAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import PIL, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env['CI'] === 'true') return true;
    console.warn(
      'SKIPPED: /usr/bin/python3 with Pillow and numpy is missing (apt-get install python3-pil python3-numpy).',
    );
    return false;
  }
}

/** The reference run: where the variants are, and Pillow's pixels per case. */
export interface PillowRun {
  readonly dir: string;
  /** The bytes of a fixture or a generated variant. */
  bytes(file: string): Uint8Array;
  /** Pillow's uint8 HWC pixels for a case. */
  pixels(id: string): Uint8Array;
  remove(): void;
}

/** Writes the variants and the reference pixels of `cases` to a fresh temporary directory. */
export function runPillow(cases: readonly PillowCase[]): PillowRun {
  const dir = mkdtempSync(join(tmpdir(), 'pillow-reference-'));
  const result = spawnSync(PYTHON, [SCRIPT], {
    input: JSON.stringify({ fixtures: FIXTURES, out: dir, cases }),
    encoding: 'utf8',
    maxBuffer: 16 * 2 ** 20,
  });
  if (result.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pillow-reference.py failed (${String(result.status)}): ${result.stderr}`);
  }
  const { variants } = JSON.parse(result.stdout) as { variants: string[] };
  const where = (file: string): string => (variants.includes(file) ? join(dir, file) : join(FIXTURES, file));
  return {
    dir,
    bytes: (file) => new Uint8Array(readFileSync(where(file))),
    pixels: (id) => new Uint8Array(readFileSync(join(dir, `${id}.rgb`))),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Mean and largest absolute difference of two equally long pixel arrays, in levels of 255. */
export function difference(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let total = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    total += d;
    if (d > max) max = d;
  }
  return { mean: total / a.length, max };
}
