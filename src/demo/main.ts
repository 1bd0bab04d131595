/**
 * `npm start`: the demo main job. Tokenizes a generated text corpus and preprocesses a set of
 * generated images through two adaptive orchestrators sharing one metrics registry, served on
 * 127.0.0.1:9097 (or a free port if that one is taken) while it runs, with progress and a
 * summary. DEMO_SCALE (default 1) scales the dataset.
 * @module
 */
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import { serveMetrics, serverOrigin } from '../telemetry/http.js';
import { Progress, summary } from '../cli/report.js';
import { patternImage, textCorpus } from './dataset.js';

const scale = Number(process.env['DEMO_SCALE'] ?? '1');
const sentences = Math.round(40_000 * scale);
const images = Math.round(240 * scale);

async function serve(registry: Registry, ready: () => boolean): Promise<Server> {
  try {
    return await serveMetrics({ registry, port: 9097, ready });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return serveMetrics({ registry, port: 0, ready });
  }
}

function* imageInputs(count: number): Generator<{ image: Uint8Array; width: number; height: number }> {
  for (let i = 0; i < count; i++) {
    yield { image: patternImage(320, 240, i + 1, i % 2 === 0 ? 'png' : 'jpeg'), width: 224, height: 224 };
  }
}

async function main(): Promise<void> {
  const registry = new Registry();
  const common = {
    registry,
    controller: 'gradient' as const,
    adaptationIntervalMs: 1000,
    maxLimit: 8,
    defaultMetrics: true,
  };
  // The shipped workers, resolved the way an application resolves them (package exports).
  const text = new Orchestrator({
    ...common,
    name: 'text',
    worker: import.meta.resolve('node-orchestrator/workers/text'),
  });
  const image = new Orchestrator({
    ...common,
    name: 'image',
    worker: import.meta.resolve('node-orchestrator/workers/image'),
  });
  const server = await serve(registry, () => text.accepting && image.accepting);
  const origin = serverOrigin(server);
  process.stderr.write(
    `demo: ${sentences} sentences and ${images} images; dashboard on ${origin}/dashboard, ` +
      `metrics on ${origin}/metrics\n`,
  );
  const progress = new Progress(
    process.stderr,
    () => ({ inFlight: text.inFlight + image.inFlight, limit: text.limit + image.limit }),
    sentences + images,
  );
  for (const o of [text, image]) o.on('adapt', () => progress.limitChanges++);
  progress.start();
  let tokens = 0;
  let pixels = 0;
  const count = (ok: boolean): void => {
    progress.done++;
    if (!ok) progress.failed++;
  };
  try {
    await Promise.all([
      (async () => {
        for await (const record of text.map('tokenize', textCorpus(sentences, 7), { batchSize: 256 })) {
          if (record.ok) tokens += (record.value as { length: number }).length;
          count(record.ok);
        }
      })(),
      (async () => {
        for await (const record of image.map('preprocessImage', imageInputs(images))) {
          if (record.ok) pixels += (record.value as { tensor: Float32Array }).tensor.length / 3;
          count(record.ok);
        }
      })(),
    ]);
  } finally {
    progress.stop();
    process.stderr.write(`${await summary(progress, registry)}\n`);
    process.stderr.write(`demo: ${tokens} tokens, ${pixels} normalized pixels (224×224×${images})\n`);
    await Promise.all([text.close(), image.close()]);
    server.close();
  }
  if (progress.failed > 0) process.exitCode = 1;
}

await main();
