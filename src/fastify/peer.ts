import type fastifyPlugin from 'fastify-plugin';

/**
 * Imports fastify-plugin, an optional peer dependency, or fails with an error that says what to
 * install: a bare ERR_MODULE_NOT_FOUND would name neither this entry point nor fastify.
 * @internal
 */
export async function loadFastifyPlugin(): Promise<typeof fastifyPlugin> {
  try {
    return (await import('fastify-plugin')).default;
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    const missing = new Error(
      'node-orchestrator/fastify needs the packages fastify (5.x) and fastify-plugin (5.x or 6.x), ' +
        'optional peer dependencies that are not installed: run `npm install fastify fastify-plugin`',
      { cause: error },
    );
    Object.defineProperty(missing, 'code', { value: 'ERR_MODULE_NOT_FOUND', enumerable: true });
    throw missing;
  }
}
