/**
 * One complete HTTP response, shared by the metrics and dashboard endpoints.
 * @internal
 * @module
 */
import type { ServerResponse } from 'node:http';

/** Ends `res` with `body` (no body for HEAD), its type and length. */
export function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
