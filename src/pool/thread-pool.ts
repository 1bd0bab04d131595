/**
 * The only code that touches Piscina. Every assumption about Piscina's behaviour that is not
 * its documented API is listed in {@link PISCINA_ASSUMPTIONS} and pinned by
 * test/pool-piscina-seam.test.ts, so that a version bump that breaks one fails loudly.
 * @module
 */
import type { Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { RunnerData, TaskRequest, TaskResponse } from './protocol.js';

/**
 * What this module relies on beyond Piscina's documented API. Each line is a test in
 * test/pool-piscina-seam.test.ts.
 */
export const PISCINA_ASSUMPTIONS = [
  'the load balancer sees the task object passed to run() through Piscina.queueOptionsSymbol',
  'the task object and its transferList array are posted as they stand when the balancer returns a thread',
  'pool.options is the live options object: raising maxThreads lets the next run() start a thread',
  'a run() with a signal-like object ({ addEventListener, removeEventListener, aborted }) is withdrawn from the queue, or its thread terminated, when the listener is called',
  'a thread removed after a crash or termination is gone from pool.threads before the run() promise rejects',
  'a task the balancer declines (returns null for) stays queued, neither run nor rejected, until its signal-like object withdraws it',
] as const;

/** How a job ended without an answer. */
export type JobFailure =
  /** Its thread died (exit, uncaught error, resource limits). */
  | 'crashed'
  /** We terminated its thread (a cancel ignored past its grace). */
  | 'terminated'
  /** Its request could not be posted to the thread (a value that cannot be cloned or transferred); the thread lives. */
  | 'refused'
  /** The pool was destroyed before the job ended. */
  | 'destroyed';

/** A unit of work the pool runs on one thread: a run, or a batch of items. @internal */
export interface PoolJob {
  /** What the runner receives. */
  readonly request: Readonly<TaskRequest>;
  readonly transferList: readonly Transferable[] | undefined;
  /** A thread took the job. */
  started(threadId: number): void;
  /** The runner answered. */
  answered(response: TaskResponse): void;
  /** The job ended without an answer. */
  failed(error: unknown, how: JobFailure): void;
}

/** Where the pool takes the job a free thread runs next. @internal */
export interface JobSource {
  /** The job to run now on a free thread (it starts at once), or undefined if none may start. */
  next(): PoolJob | undefined;
  /** How many tickets to keep waiting now: about one per job that could start. */
  wanted(): number;
}

/** Settings of a {@link ThreadPool}. @internal */
export interface ThreadPoolOptions {
  readonly filename: string;
  readonly workerData: RunnerData;
  readonly minThreads: number;
  readonly limit: number;
  /** Piscina's idleTimeout: a finite delay up to 2^31−1 ms, or Infinity. */
  readonly idleTimeoutMs: number;
  readonly resourceLimits: object | undefined;
  /** Idle threads wait with `Atomics.waitAsync`, so their event loop runs between tasks. */
  readonly eventLoopBetweenTasks: boolean;
  /** Messages a runner posts on its parentPort (the control-port hello). */
  readonly onMessage: (message: unknown) => void;
  /** Chooses the job a ticket carries, when a thread takes the ticket. */
  readonly source: JobSource;
}

type PiscinaWorker = {
  readonly id: number;
  readonly currentUsage: number;
};

const kQueueOptions = Piscina.queueOptionsSymbol;

/**
 * A place in Piscina's queue. A ticket carries no work until a thread takes it: then the
 * balancer asks the job source which job runs now, so the order in which jobs reach threads is
 * the source's alone (priority, tenants' fair share, FIFO), whatever order Piscina keeps its
 * queue in, and a job cancelled before it started was never in Piscina's queue at all. It is
 * also the signal-like object Piscina listens to, which is how we withdraw it or terminate its
 * thread.
 */
class Ticket {
  readonly request: TaskRequest & { [kQueueOptions]: Ticket };
  readonly transferList: Transferable[] = [];
  job: PoolJob | undefined;
  /** The thread that took it. */
  threadId = -1;
  killed = false;
  /** A free thread took it when the source had no job for it: Piscina will not offer it again to an idle thread. */
  declined = false;
  readonly aborted = false;
  #listener: (() => void) | undefined;

  constructor() {
    this.request = {
      id: 0,
      task: '',
      input: undefined,
      batch: undefined,
      trace: undefined,
      [kQueueOptions]: this,
    };
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(): void {
    this.#listener = undefined;
  }

  /** Withdraws the ticket from Piscina's queue, or terminates the thread running its job. */
  kill(): void {
    this.killed = true;
    this.#listener?.();
  }
}

/**
 * A Piscina pool whose queue holds tickets, not jobs. At most `limit` jobs run at once and the
 * pool keeps at most `limit` threads. The owner says how many tickets to keep waiting
 * ({@link sync}): one per job that could start now; the source names the job when a thread
 * takes the ticket. Growing the limit starts threads for waiting tickets at once.
 * @internal
 */
export class ThreadPool {
  readonly #piscina: Piscina;
  readonly #source: JobSource;
  /** Tickets waiting in Piscina's queue. */
  readonly #unbound = new Set<Ticket>();
  /** Tickets in `#unbound` that were declined. */
  #declined = 0;
  /** Tickets bound to a running job. */
  readonly #running = new Map<PoolJob, Ticket>();
  /** Threads that have taken a job (pruned to the live ones as threads come and go). */
  readonly #ranJobs = new Set<number>();
  #limit: number;
  #destroyed = false;

  constructor(options: ThreadPoolOptions) {
    this.#limit = options.limit;
    this.#source = options.source;
    this.#piscina = new Piscina({
      filename: options.filename,
      workerData: options.workerData,
      minThreads: options.minThreads,
      maxThreads: options.limit,
      idleTimeout: options.idleTimeoutMs,
      concurrentTasksPerWorker: 1,
      // 'sync' (Piscina's default) blocks an idle thread in Atomics.wait: no timer or message
      // runs there until the next task.
      atomics: options.eventLoopBetweenTasks ? 'async' : 'sync',
      resourceLimits: options.resourceLimits as never,
      loadBalancer: ((task: { [kQueueOptions]?: unknown }, workers: PiscinaWorker[]) =>
        this.#balance(task, workers)) as never,
    });
    this.#piscina.on('message', options.onMessage);
    // A crash is reported through its job; the pool-level event must not crash the process.
    this.#piscina.on('error', () => {});
  }

  /** Threads alive now (starting, idle or busy). */
  get threads(): number {
    return this.#piscina.threads.length;
  }

  /** Live threads that have taken a job, by thread id. */
  threadsThatRan(): number[] {
    return this.#piscina.threads.map((thread) => thread.threadId).filter((id) => this.#ranJobs.has(id));
  }

  /** Jobs running on a thread now. */
  get running(): number {
    return this.#running.size;
  }

  /** Tickets waiting for a thread (staged places, not yet bound to a job). */
  get tickets(): number {
    return this.#unbound.size;
  }

  /**
   * Keeps as many tickets waiting as the source wants, issuing or withdrawing the difference. An
   * idle thread takes a new ticket at once and so may start a job (which changes what the source
   * wants), so the source is asked again after each ticket. A ticket a thread takes when the
   * source has no job is declined and waits on. Never call it from the source's `next()`
   * (Piscina is mid-dispatch then).
   */
  sync(): void {
    if (this.#destroyed) return;
    // A declined ticket waits behind a thread that is idle now and would never be offered it
    // again: it gives way to a fresh one, which Piscina hands to that thread.
    if (this.#declined > 0) {
      for (const ticket of [...this.#unbound]) if (ticket.declined) this.#withdraw(ticket);
    }
    for (;;) {
      const wanted = this.#source.wanted();
      if (this.#unbound.size < wanted) this.#issueTicket();
      else if (this.#unbound.size > wanted) this.#withdrawTicket();
      else return;
    }
  }

  /** Terminates the thread running `job`; the job then fails as `terminated`. */
  terminate(job: PoolJob): void {
    this.#running.get(job)?.kill();
  }

  /**
   * Sets the most jobs that run at once, and so the most threads. Growing starts threads for
   * waiting tickets at once; after shrinking, surplus threads retire when idle. The owner
   * calls {@link sync} after, as what it wants may have changed.
   */
  setLimit(limit: number): void {
    this.#limit = limit;
    // Piscina reads maxThreads from its live options whenever it considers starting a thread.
    this.#piscina.options.maxThreads = limit;
    this.#startThreads();
  }

  /** Terminates every thread. Jobs still running fail as `destroyed`; waiting tickets are dropped. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    while (this.#unbound.size > 0) this.#withdrawTicket();
    await this.#piscina.destroy();
  }

  #issueTicket(): void {
    const ticket = new Ticket();
    this.#unbound.add(ticket);
    this.#piscina
      .run(ticket.request, { signal: ticket as never, transferList: ticket.transferList as never })
      .then(
        (response: TaskResponse) => this.#answered(ticket, response),
        (error: unknown) => this.#failed(ticket, error),
      );
  }

  #withdrawTicket(): void {
    const ticket = this.#unbound.values().next().value;
    if (ticket !== undefined) this.#withdraw(ticket);
  }

  #withdraw(ticket: Ticket): void {
    this.#unbound.delete(ticket);
    if (ticket.declined) this.#declined--;
    ticket.kill();
  }

  /**
   * Piscina offers its queued tickets to a thread only when that thread becomes free or a new
   * task arrives: a thread that is already idle (its neighbour crashed, the limit grew) is never
   * offered one, and a missing thread is started only for a new task. So for each waiting
   * ticket that may run now, one is issued anew: Piscina then hands it to an idle thread, or
   * starts a thread for it.
   */
  #startThreads(): void {
    if (this.#destroyed) return;
    const runnable = Math.min(this.#unbound.size, this.#limit - this.#running.size);
    for (let i = 0; i < runnable && this.#unbound.size > 0; i++) {
      this.#withdrawTicket();
      this.#issueTicket();
    }
  }

  /** Piscina's load balancer: an idle thread while fewer than `limit` are busy; binds the ticket to the source's next job. */
  #balance(task: { [kQueueOptions]?: unknown }, workers: readonly PiscinaWorker[]): PiscinaWorker | null {
    let busy = 0;
    let idle: PiscinaWorker | null = null;
    for (const worker of workers) {
      if (worker.currentUsage === 0) idle ??= worker;
      else busy++;
    }
    if (idle === null || busy >= this.#limit) return null;
    const ticket = task[kQueueOptions];
    if (!(ticket instanceof Ticket) || !this.#unbound.has(ticket)) return null;
    const job = this.#source.next();
    if (job === undefined) {
      if (!ticket.declined) this.#declined++;
      ticket.declined = true;
      return null;
    }
    this.#bind(ticket, job, idle.id);
    return idle;
  }

  #bind(ticket: Ticket, job: PoolJob, threadId: number): void {
    this.#unbound.delete(ticket);
    if (ticket.declined) this.#declined--;
    ticket.declined = false;
    this.#running.set(job, ticket);
    ticket.job = job;
    ticket.threadId = threadId;
    if (!this.#ranJobs.has(threadId)) this.#ranThread(threadId);
    const { request } = ticket;
    request.id = job.request.id;
    request.task = job.request.task;
    request.input = job.request.input;
    request.batch = job.request.batch;
    request.trace = job.request.trace;
    if (job.transferList !== undefined) ticket.transferList.push(...job.transferList);
    job.started(threadId);
  }

  #ranThread(threadId: number): void {
    // Threads that retired or died leave their ids behind: forgotten when the set outgrows the pool.
    if (this.#ranJobs.size >= 2 * this.#limit) {
      const live = new Set(this.threadsThatRan());
      this.#ranJobs.clear();
      for (const id of live) this.#ranJobs.add(id);
    }
    this.#ranJobs.add(threadId);
  }

  #answered(ticket: Ticket, response: TaskResponse): void {
    const job = this.#release(ticket);
    job?.answered(response);
  }

  #failed(ticket: Ticket, error: unknown): void {
    const job = this.#release(ticket);
    // A ticket withdrawn before it was bound carried no work.
    if (job === undefined) return;
    const threadLives = this.#piscina.threads.some((thread) => thread.threadId === ticket.threadId);
    job.failed(
      error,
      this.#destroyed ? 'destroyed' : ticket.killed ? 'terminated' : threadLives ? 'refused' : 'crashed',
    );
    // A thread that died may leave tickets waiting behind busy threads.
    this.#startThreads();
  }

  #release(ticket: Ticket): PoolJob | undefined {
    const job = ticket.job;
    if (job === undefined) return undefined;
    this.#running.delete(job);
    // The input stays referenced by the ticket otherwise, until the job itself is collected.
    ticket.request.input = undefined;
    ticket.transferList.length = 0;
    return job;
  }
}
