/**
 * node-orchestrator/bullmq: the same worker module on many machines, through BullMQ on Redis.
 * Needs the optional peer dependencies `bullmq` and `ioredis`; importing this module without
 * them throws a MissingPeerError (ERR_MISSING_PEER) naming them.
 *
 * This file only re-exports.
 * @module
 */
export { QueueNode } from './queue-node.js';
export type { QueueNodeOptions, QueueNodeOwnOptions } from './queue-node.js';
export type { JobEvent, JobOutcome } from './job-processor.js';
export { QueueClient } from './queue-client.js';
export type { QueueClientOptions, QueueRunOptions } from './client-options.js';
export type { QueueMapOptions } from './client-map.js';
export type { RetentionOptions } from './client-jobs.js';
export type { QueueOptions } from './options.js';
export type { RedisConnection, RedisConnectionOptions } from './connection.js';
export type { CompressionOptions, PayloadOptions } from './codec.js';
