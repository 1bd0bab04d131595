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
  ClientDisconnectedError,
  PayloadTooLargeError,
  BadPayloadError,
  RedisAuthError,
  RedisUnavailableError,
  MissingPeerError,
  JobFailedError,
  NotCacheableError,
  InvalidMetricError,
  MetricConflictError,
  ImageDecodeError,
  ErrorCodes,
} from './errors.js';
export type { ErrorCode, ConfigIssue, OrchestratorErrorOptions } from './errors.js';
export { AdaptiveLimiter } from './limiter/adaptive-limiter.js';
export type { AdaptiveLimiterOptions, AcquireOptions } from './limiter/adaptive-limiter.js';
export { Permit } from './limiter/permit.js';
export { Orchestrator } from './orchestrator/orchestrator.js';
export type {
  RunOptions,
  GoOptions,
  GoContext,
  TaskMap,
  TaskName,
  TaskInput,
  TaskOutput,
} from './orchestrator/task-types.js';
export type {
  OrchestratorOptions,
  ExecutionOptions,
  TelemetryOptions,
  WorkerOption,
  SingleWorkerOption,
  WorkerModulesOption,
} from './orchestrator/options.js';
export type { TracingOptions, TracingConfig, TracerProviderLike } from './tracing/options.js';
export type { SchedulingOptions } from './scheduler/options.js';
export type { TenantOptions } from './scheduler/tenants.js';
export type { ResourceStats } from './scheduler/resource.js';
export type { ResourceLimitsOption } from './orchestrator/engine.js';
export { TaskGroup } from './group/task-group.js';
export type { TaskGroupOptions, GroupTask } from './group/task-group.js';
export { OrchestratorMetrics } from './telemetry/metrics.js';
export type { GaugeSnapshot, MetricsOptions } from './telemetry/metrics.js';
export { serveMetrics, createMetricsHandler } from './telemetry/http.js';
export type { ServeMetricsOptions, MetricsHandlerOptions, Readiness } from './telemetry/http.js';
export type {
  DashboardFrame,
  OrchestratorFrame,
  OrchestratorStats,
  TaskStats,
  BreakdownRow,
  LimitChange,
  LatencySummary,
} from './telemetry/dashboard/schema.js';
export type { Outcome } from './telemetry/accumulators.js';
export type { MetricDeclaration, MetricDeclarations, MetricType } from './task-metrics/declaration.js';
export { requestSignal } from './http/request-signal.js';
export { httpErrorFor } from './http/http-error.js';
export type { HttpError, HttpErrorBody, HttpErrorOptions } from './http/http-error.js';
export type {
  AdaptEvent,
  ResourceAdaptEvent,
  OrchestratorWarning,
  SignalsOptions,
} from './orchestrator/adaptation.js';
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
export type { Pipeline } from './pipeline/pipeline.js';
export type { PipelineOptions, PipelineMapOptions } from './pipeline/pipeline.js';
export type { PipelineRecord, PipelineStage } from './pipeline/run.js';
export type { CacheOptions, TaskCacheOptions, WorkerCacheOptions } from './cache/options.js';
