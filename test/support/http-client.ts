import { request as httpRequest, type Agent, type ClientRequest, type IncomingHttpHeaders } from 'node:http';

/** A response as the client saw it. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Sends one request to 127.0.0.1 with an optional JSON body. Returns the ClientRequest, so a test
 * can drop the connection mid-flight (`request.destroy()`), and the answer, which rejects when it does.
 */
export function send(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  options: { agent?: Agent; headers?: Record<string, string> } = {},
): { request: ClientRequest; answer: Promise<Answer> } {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const request = httpRequest({
    host: '127.0.0.1',
    port,
    method,
    path,
    agent: options.agent,
    headers: {
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.once('error', reject);
      response.once('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }),
      );
    });
  });
  request.end(payload);
  return { request, answer };
}
