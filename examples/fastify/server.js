// A Fastify service that tokenizes text and stretches keys off the main thread.
import Fastify from 'fastify';
import orchestratorPlugin from 'node-orchestrator/fastify';

const app = Fastify();

await app.register(orchestratorPlugin, {
  orchestrator: {
    worker: new URL('./tasks.js', import.meta.url),
    closeTimeoutMs: 5000,
    // Concurrent requests for one task share a trip to a thread; a tokenize takes less time
    // than the trip. Batches hold about 8 ms of a task's measured work, so hashes go one by one.
    batch: { maxSize: 64, maxDelayMs: 1 },
  },
});

const text = { type: 'string', maxLength: 100_000 };

app.post(
  '/tokenize',
  { schema: { body: { type: 'object', required: ['text'], properties: { text } } } },
  (request) => request.run('tokenize', { text: request.body.text }),
);

app.post(
  '/hash',
  {
    schema: {
      body: {
        type: 'object',
        required: ['text'],
        properties: { text, rounds: { type: 'integer', minimum: 1, maximum: 10_000_000 } },
      },
    },
  },
  async (request) => ({ digest: await request.run('hash', request.body) }),
);

// Closing stops accepting, lets accepted work finish within closeTimeoutMs, then cancels the rest.
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => void app.close());

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${address}`);
