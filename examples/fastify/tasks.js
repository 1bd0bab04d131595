// The service's worker module: the shipped tokenizer, and a CPU-bound key-stretching task.
import { createHash } from 'node:crypto';
import { defineTask } from 'node-orchestrator/worker';

export { tokenizeJson as tokenize } from 'node-orchestrator/workers/text';

// SHA-256 applied `rounds` times: about 1 µs a round, so the default is a ~5 ms task.
export const hash = defineTask(({ text, rounds = 5000 }, ctx) => {
  let digest = Buffer.from(text);
  for (let i = 0; i < rounds; i++) {
    if (i % 1000 === 0) ctx.throwIfAborted(); // a cancel stops the loop within about a millisecond
    digest = createHash('sha256').update(digest).digest();
  }
  return digest.toString('hex');
});
