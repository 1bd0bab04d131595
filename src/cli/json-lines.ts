import { StringDecoder } from 'node:string_decoder';

/** One input line: its 1-based number and its parsed value or the parse error. */
export type InputLine =
  { line: number; value: unknown; error?: undefined } | { line: number; value?: undefined; error: string };

/**
 * Splits a byte stream into JSON lines lazily: the stream is read only as lines are consumed,
 * so memory stays flat whatever the input size. Blank lines are skipped (but counted).
 *
 * Bytes are decoded with a streaming decoder, so a multi-byte UTF-8 character split across two
 * chunks (which pipes do at arbitrary byte offsets) stays one character instead of two U+FFFD.
 */
export async function* jsonLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<InputLine> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let line = 0;
  for await (const chunk of stream) {
    carry += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let newline = carry.indexOf('\n');
    while (newline !== -1) {
      const text = carry.slice(0, newline);
      carry = carry.slice(newline + 1);
      line++;
      const parsed = parse(text, line);
      if (parsed !== undefined) yield parsed;
      newline = carry.indexOf('\n');
    }
  }
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
