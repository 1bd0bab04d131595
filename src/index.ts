/**
 * node-orchestrator: the main-thread API.
 *
 * This file only re-exports; each concept lives in its own module under src/.
 * @module
 */
export {
  OrchestratorError,
  AbortedError,
  ClosedError,
  QueueFullError,
  TaskTimeoutError,
  TaskFailedError,
  UnknownTaskError,
  WorkerCrashedError,
  WorkerNotFoundError,
  DataCloneError,
  InvalidConfigError,
  ImageDecodeError,
  ErrorCodes,
} from './errors.js';
export type { ErrorCode, ConfigIssue, OrchestratorErrorOptions } from './errors.js';
export { AdaptiveLimiter } from './limiter/adaptive-limiter.js';
export type { AdaptiveLimiterOptions, AcquireOptions } from './limiter/adaptive-limiter.js';
export { Permit } from './limiter/permit.js';
export { Orchestrator } from './orchestrator/orchestrator.js';
export type {
  OrchestratorOptions,
  RunOptions,
  GoContext,
  TaskMap,
  TaskName,
  TaskInput,
  TaskOutput,
} from './orchestrator/orchestrator.js';
export type { ExecutionOptions } from './orchestrator/options.js';
export type { ResourceLimitsOption } from './orchestrator/engine.js';
export { TaskGroup } from './group/task-group.js';
export type { TaskGroupOptions, GroupTask } from './group/task-group.js';
export type { TelemetryOptions } from './orchestrator/orchestrator.js';
export { OrchestratorMetrics } from './telemetry/metrics.js';
export type { GaugeSnapshot, MetricsOptions } from './telemetry/metrics.js';
export { serveMetrics, createMetricsHandler } from './telemetry/http.js';
export type { ServeMetricsOptions, MetricsHandlerOptions, Readiness } from './telemetry/http.js';
export type { Outcome } from './telemetry/accumulators.js';
export type { AdaptEvent, SignalsOptions } from './orchestrator/adaptation.js';
export { thresholdController } from './control/threshold.js';
export { createGradientController } from './control/gradient.js';
export type { GradientOptions } from './control/gradient.js';
export { clampLimit } from './control/controller.js';
export type { Controller } from './control/controller.js';
export type { AdaptiveOptions, AdaptiveConfig } from './control/config.js';
export { ADAPTIVE_DEFAULTS } from './control/config.js';
export type { AdaptSample, AdaptReason, Decision } from './control/sample.js';
export { SystemSampler } from './signals/system-sampler.js';
export type { SystemSamplerOptions } from './signals/system-sampler.js';
export { ErrorRateWindow } from './signals/error-rate-window.js';
export { RegistrySource } from './signals/registry-source.js';
export type { RegistrySourceOptions } from './signals/registry-source.js';
export type { SignalSource, SignalReading } from './signals/signal-source.js';
export type { MapOptions, MapRecord } from './orchestrator/map.js';
export type { CoalesceOptions } from './orchestrator/coalescer.js';
