/**
 * node-orchestrator/worker: what worker modules import.
 * @module
 */
export { defineTask, transfer } from './define-task.js';
export type { Task, TaskFunction, TaskOptions, Transfer, Output } from './define-task.js';
export type { TaskContext, TraceContext } from './task-context.js';
export type { WorkerCacheOptions } from '../cache/options.js';
export { registerTracerProvider } from './tracer-provider.js';
export type { WorkerTracerProvider } from './tracer-provider.js';
