/** Error code of a record whose result JSON cannot encode (a bigint, a cycle, a throwing `toJSON`). */
export const ERR_RESULT_NOT_JSON = 'ERR_RESULT_NOT_JSON';

/** One output record as text: a result, or an error with the message to report on stderr. */
export type EncodedRecord =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly text: string; readonly message: string };

/** Typed arrays (token ids, tensors) as JSON arrays, not as objects keyed "0", "1", …. */
function typedArraysAsArrays(_key: string, value: unknown): unknown {
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Array.from(value, Number);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as Uint8Array);
  return value;
}

/**
 * Encodes `{"line":N,"result":…}`; typed arrays become arrays. Structured clone carries values JSON cannot (bigints, cycles),
 * so a worker can legitimately return one; that record becomes an `ERR_RESULT_NOT_JSON` error
 * record instead of a `TypeError` that would end the whole run.
 */
export function encodeResult(line: number, value: unknown): EncodedRecord {
  try {
    return { ok: true, text: JSON.stringify({ line, result: value }, typedArraysAsArrays) };
  } catch (error) {
    return encodeError(line, `result is not JSON-encodable: ${firstLine(error)}`, ERR_RESULT_NOT_JSON);
  }
}

/**
 * Encodes `{"line":N,"error":{"message":…,"code":…}}`, with `"stage"` (the task that failed)
 * for chained tasks. A code that is neither a string nor a number is left out, so that an odd
 * `code` on a task's error cannot make the record unencodable.
 */
export function encodeError(line: number, message: string, code: unknown, stage?: string): EncodedRecord {
  const safeCode = typeof code === 'string' || typeof code === 'number' ? code : undefined;
  const error = stage === undefined ? { message, code: safeCode } : { message, code: safeCode, stage };
  return {
    ok: false,
    text: JSON.stringify({ line, error }),
    message: stage === undefined ? message : `${stage}: ${message}`,
  };
}

/** The first line of an error's message: V8's cycle message spans several, and stderr gets one per record. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0] ?? message;
}
