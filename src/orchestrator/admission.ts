import { QueueFullError } from '../errors.js';
import { WarmedEstimate } from '../internal/moving-average.js';
import type { JobSource, ThreadPool } from '../pool/thread-pool.js';
import type { ResourceStats } from '../scheduler/resource.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { TenantsConfig } from '../scheduler/tenants.js';
import type { TaskRun } from './task-run.js';

/** One tenant label's runs now. @internal */
export interface TenantLoad {
  readonly label: string;
  readonly running: number;
  readonly waiting: number;
}

/** What admission needs to know of the engine. @internal */
export interface AdmissionHost {
  /** The most tasks that run at once. */
  readonly limit: number;
  /** Whether the pool is gone (nothing may start). */
  readonly closed: boolean;
  /** Told about every run that starts on a thread. */
  started(run: TaskRun): void;
}

/**
 * Jobs at least this long (their estimated worker time, in ms) keep one standby
 * ticket in Piscina's queue while runs wait and every slot is busy. Piscina offers its queue to
 * a thread inside the handler that reads the thread's answer, so the next job leaves then,
 * before the answer's promise reactions run: 1 ms tasks on two threads ran 1.04× as many per
 * second (median of 5 alternated runs, 4 of 5 faster; 2 ms tasks 3 of 3, 1.03×; 2026-11-26).
 * Shorter jobs go without: a waiting ticket makes Piscina build a view of every thread once
 * more per job, and short jobs are bound by the main thread's time.
 */
export const STANDBY_MIN_JOB_MS = 0.5;

/** Weight of the newest job in the moving average of job lengths. */
const JOB_MS_SMOOTHING = 0.2;
/**
 * The first jobs, of which the fastest is the job length before the moving average takes over:
 * a cold first run (a module loading its model) must not keep a standby ticket for trivial
 * jobs for dozens of jobs after it (see {@link WarmedEstimate}).
 */
const JOB_MS_WARM_UP = 3;

/**
 * Admission: the engine's runs between submission and their start on a thread. It keeps them in
 * the {@link Scheduler}, is the pool's job source (a free thread starts the run the scheduler
 * names), keeps the pool's tickets at one per free slot a waiting run could take (so at most
 * `limit` runs in flight, running or staged) plus, for long jobs, one standby ticket, sheds
 * submissions beyond `maxQueue` or a tenant's own maxQueue, and counts what waits.
 * @internal
 */
export class Admission implements JobSource {
  readonly scheduler: Scheduler<TaskRun>;
  readonly #host: AdmissionHost;
  readonly #maxQueue: number;
  #pool: ThreadPool | undefined;
  /** Runs started and not ended. */
  #running = 0;
  /** Items in runs waiting in the scheduler (a map batch counts its items). */
  #waitingItems = 0;
  /** Items of coalesced runs whose batch is forming. */
  #formingItems = 0;
  /** A sync of the pool's tickets is scheduled (a thread took one inside Piscina's dispatch). */
  #syncDue = false;
  /** Waiting runs marked `gpu`, for the GPU-wait signal when no `gpu` resource is declared. */
  readonly #gpuWaiting = new Set<TaskRun>();
  /** The worker time of the jobs that ended, in ms: fastest early job, then a moving average. */
  readonly #jobMs = new WarmedEstimate(JOB_MS_SMOOTHING, JOB_MS_WARM_UP);

  constructor(
    host: AdmissionHost,
    settings: { tenants: TenantsConfig; resources: ReadonlyMap<string, number>; maxQueue: number },
  ) {
    this.#host = host;
    this.#maxQueue = settings.maxQueue;
    this.scheduler = new Scheduler(settings.tenants, settings.resources);
  }

  /** The pool whose tickets admission keeps (set once, right after the pool is built). */
  attach(pool: ThreadPool): void {
    this.#pool = pool;
  }

  get #tickets(): number {
    return this.#pool?.tickets ?? 0;
  }

  /** Tickets that stand for a free slot; the standby beyond them is no waiting run's place. */
  get #staged(): number {
    return Math.min(this.#tickets, Math.max(0, this.#host.limit - this.#running));
  }

  /** Runs running, plus runs staged (tickets waiting for a thread). */
  get inFlight(): number {
    return this.#running + this.#staged;
  }

  /** Runs waiting beyond the staged ones. */
  get queued(): number {
    return this.scheduler.waiting - this.#staged;
  }

  /**
   * Items waiting beyond the staged runs (or, coalesced, for their batch to leave). A ticket
   * names no run, so the staged runs count at the waiting runs' mean size.
   */
  get queuedItems(): number {
    const waiting = this.scheduler.waiting;
    const staged = waiting === 0 ? 0 : Math.round((this.#staged * this.#waitingItems) / waiting);
    return this.#waitingItems - staged + this.#formingItems;
  }

  /** Counts items waiting outside the scheduler: coalesced runs while their batch forms. */
  adjustQueuedItems(delta: number): void {
    this.#formingItems += delta;
  }

  /** Whether a run submitted now would be admitted at once (its tenant's room aside). */
  get hasFreeSlot(): boolean {
    return this.queued === 0 && this.inFlight < this.#host.limit;
  }

  /** Whether a run submitted now would be shed for the queue (`maxQueue`), its tenant aside. */
  get full(): boolean {
    return !this.hasFreeSlot && this.queued >= this.#maxQueue;
  }

  /**
   * Queues a run, or returns the QueueFullError it is shed with: when the queue beyond the
   * staged runs holds `maxQueue`, or its tenant already has its own maxQueue runs waiting (the
   * error then names the tenant) — unless the run would start at once.
   */
  admit(run: TaskRun, priority: number): QueueFullError | undefined {
    const { spec } = run;
    const tenants = this.scheduler.tenants;
    const tenant = tenants.find(spec.tenant);
    const waiting = tenant?.waiting ?? 0;
    const startsNow = this.hasFreeSlot && waiting === 0 && (tenant?.hasRoom ?? true);
    if (!startsNow && this.queued >= this.#maxQueue) {
      return new QueueFullError(
        `The queue is full (maxQueue ${this.#maxQueue}); task "${spec.task}" was shed`,
      );
    }
    const { maxQueue } = tenant?.config ?? tenants.configOf(spec.tenant);
    if (!startsNow && waiting >= maxQueue) {
      const name = tenants.nameOf(spec.tenant);
      const error = new QueueFullError(
        `Tenant "${name}" has ${waiting} runs waiting (its maxQueue ${maxQueue}); task "${spec.task}" was shed`,
      );
      error.tenant = name;
      return error;
    }
    const needs = this.scheduler.needsOf(spec.needs, spec.gpu);
    run.place = this.scheduler.enqueue(run, spec.tenant, priority, needs, run.submittedAt);
    run.waiting = true;
    this.#waitingItems += spec.items;
    if (spec.gpu) this.#gpuWaiting.add(run);
    this.sync();
    return undefined;
  }

  /** Withdraws a waiting run. Returns false if a thread took it already. */
  withdraw(run: TaskRun): boolean {
    const place = run.place;
    if (place === undefined || !this.scheduler.remove(place)) return false;
    this.leave(run);
    this.sync();
    return true;
  }

  /** A started run ended: its slot, its tenant's room and its resource units come back. */
  finished(run: TaskRun): void {
    this.#running--;
    if (run.workerMs > 0) this.#jobMs.record(run.workerMs);
    if (run.place !== undefined) this.scheduler.finished(run.place);
    this.sync();
  }

  /** The run no longer waits (started, withdrawn or settled): it leaves the counts. */
  leave(run: TaskRun): void {
    if (!run.waiting) return;
    run.waiting = false;
    this.#waitingItems -= run.spec.items;
    if (run.spec.gpu) this.#gpuWaiting.delete(run);
  }

  /** JobSource: the pool's balancer asks, inside Piscina's dispatch, which run a free thread starts. */
  next(): TaskRun | undefined {
    const place = this.scheduler.next();
    // A ticket declined for want of a run must not wait on in Piscina's queue, never offered to
    // the thread that is idle now; a start may leave surplus tickets (a tenant reached its cap,
    // runs were parked). Both are settled once Piscina is done dispatching. Otherwise the ticket
    // taken now is the one fewer that is wanted, and nothing needs doing.
    if (place === undefined) {
      this.#syncSoon();
      return undefined;
    }
    const run = place.value;
    this.#running++;
    this.leave(run);
    this.#host.started(run);
    if (this.wanted() !== this.#tickets - 1) this.#syncSoon();
    return run;
  }

  /**
   * JobSource: one ticket per free slot a waiting run could take, and one standby beyond them
   * for long jobs ({@link STANDBY_MIN_JOB_MS}). Not one more per running task staged behind it:
   * Piscina offers a queued ticket to busy threads first, and builds a view of every thread each
   * time it does, which cost trivial runs a fifth of their throughput here (2026-11-26: 1.25×
   * the runs/s, and 1.23× for small-item maps, without).
   */
  wanted(): number {
    if (this.#host.closed) return 0;
    const free = Math.max(0, this.#host.limit - this.#running);
    const jobMs = this.#jobMs.ms;
    const standby = jobMs !== undefined && jobMs >= STANDBY_MIN_JOB_MS ? 1 : 0;
    return Math.min(this.scheduler.startable, free + standby);
  }

  #syncSoon(): void {
    if (this.#syncDue) return;
    this.#syncDue = true;
    queueMicrotask(() => {
      this.#syncDue = false;
      this.sync();
    });
  }

  /** Brings the pool's tickets to what is wanted. Never from inside Piscina's dispatch. */
  sync(): void {
    this.#pool?.sync();
  }

  /**
   * The GPU-wait signal: how long the longest-waiting run that needs the GPU has waited, in
   * seconds; undefined when none waits. With a `gpu` resource declared, its runs; otherwise the
   * runs marked `gpu` (in arrival order, so the first).
   */
  gpuWaitSeconds(): number | undefined {
    const gpu = this.scheduler.resourceStats('gpu');
    if (gpu !== undefined) return gpu.waiting === 0 ? undefined : gpu.waitSeconds;
    const oldest = this.#gpuWaiting.values().next().value;
    return oldest === undefined ? undefined : (performance.now() - oldest.submittedAt) / 1000;
  }

  /** Runs of each tenant label, running and waiting (labels as the metrics give them). */
  tenantLoads(): TenantLoad[] {
    const byLabel = new Map<string, { running: number; waiting: number }>();
    for (const label of this.scheduler.tenants.labels) byLabel.set(label, { running: 0, waiting: 0 });
    for (const tenant of this.scheduler.tenants.all) {
      const load = tenant.label === undefined ? undefined : byLabel.get(tenant.label);
      if (load === undefined) continue;
      load.running += tenant.running;
      load.waiting += tenant.waiting;
    }
    return [...byLabel].map(([label, load]) => ({ label, ...load }));
  }

  /** Each declared resource's numbers now. */
  resourceStats(): (ResourceStats & { readonly name: string })[] {
    const now = performance.now();
    return this.scheduler.resourceNames.map((name) => ({
      name,
      ...(this.scheduler.resourceStats(name, now) as ResourceStats),
    }));
  }
}
