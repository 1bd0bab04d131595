/**
 * node-orchestrator/fastify: the Fastify plugin. Needs the optional peer dependencies fastify
 * (5.x) and fastify-plugin.
 *
 * This file only re-exports.
 * @module
 */
export { orchestratorPlugin, orchestratorPlugin as default } from './plugin.js';
export type { FastifyOrchestratorTasks, RegisteredTasks, RequestRun } from './plugin.js';
export type { OrchestratorPluginOptions, OrchestratorRoutesOptions } from './options.js';
