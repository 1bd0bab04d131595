import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/** One input line: its 1-based number and its parsed value or the parse error. */
export type InputLine =
  { line: number; value: unknown; error?: undefined } | { line: number; value?: undefined; error: string };

/**
 * Splits a byte stream into JSON lines lazily: the stream is read only as lines are consumed,
 * so memory stays flat whatever the input size. Blank lines are skipped (but counted).
 *
 * Bytes are decoded with a streaming decoder, so a multi-byte UTF-8 character split across two
 * chunks (which pipes do at arbitrary byte offsets) stays one character instead of two U+FFFD.
 *
 * Aborting `signal` stops reading: the stream is destroyed (releasing stdin, so the process can
 * exit) and the iteration ends quietly without the unfinished last line.
 */
export async function* jsonLines(stream: Readable, signal?: AbortSignal): AsyncGenerator<InputLine> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let line = 0;
  // A read blocked on an idle stdin never settles by itself; destroying the stream settles it.
  const onAbort = (): void => {
    stream.destroy();
  };
  if (signal?.aborted === true) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      carry += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let newline = carry.indexOf('\n');
      while (newline !== -1) {
        if (signal?.aborted === true) return;
        const text = carry.slice(0, newline);
        carry = carry.slice(newline + 1);
        line++;
        const parsed = parse(text, line);
        if (parsed !== undefined) yield parsed;
        newline = carry.indexOf('\n');
      }
    }
  } catch (error) {
    // The premature-close error of the stream we destroyed on abort is our own doing, not bad input.
    if (signal?.aborted === true) return;
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted === true) return;
  carry += decoder.end();
  if (carry.length > 0) {
    const parsed = parse(carry, ++line);
    if (parsed !== undefined) yield parsed;
  }
}

function parse(text: string, line: number): InputLine | undefined {
  const trimmed = text.trim();
  if (trimmed.length === 0) return undefined;
  try {
    return { line, value: JSON.parse(trimmed) as unknown };
  } catch (error) {
    return { line, error: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}
