/**
 * node-orchestrator/worker: what worker modules import.
 * @module
 */
export { defineTask, transfer } from './define-task.js';
export type { Task, TaskFunction, TaskOptions, Transfer, Output } from './define-task.js';
export type { TaskContext } from './task-context.js';
export type { WorkerCacheOptions } from '../cache/options.js';
