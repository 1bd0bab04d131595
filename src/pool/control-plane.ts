/**
 * The main thread's end of the control ports: one MessagePort per pool thread, handed over in
 * the thread's hello. Aborts go out over them; batch chunks come in over them and reach their
 * batch as they arrive.
 * @module
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { BatchChunk, ControlMessage, FlushedMessage, MetricsDelta } from './protocol.js';

/** Where the chunks of one batch go. */
export type ChunkSink = (chunk: BatchChunk) => void;

/**
 * Control ports, aborts and chunk delivery.
 *
 * Aborts are broadcast by id to every thread (a run's thread is not known until it starts), and
 * an atomic epoch is bumped after posting so that a runner's `throwIfAborted()` costs one atomic
 * load until something is actually posted. An abort is remembered until {@link forget}, and
 * replayed to a thread whose port arrives later: its thread may already be running that task.
 *
 * Chunks are delivered by the port's message event, as they arrive, so a batch item settles as
 * soon as its chunk is posted. {@link drain} reads what is already in the ports synchronously,
 * for a batch whose answer (or crash) is seen before the event for its last chunk.
 *
 * Before close() ends the threads, {@link flush} asks each to flush its tracer providers.
 */
export class ControlPlane {
  /** The Int32 the runners read to see that aborts were posted. */
  readonly epoch = new Int32Array(new SharedArrayBuffer(4));
  readonly #ports = new Set<MessagePort>();
  readonly #sinks = new Map<number, ChunkSink>();
  /** Aborted ids not yet forgotten: replayed to ports that arrive later. */
  readonly #aborted = new Set<number>();
  /** Threads whose port was adopted, by thread id. */
  readonly #threadIds = new Set<number>();
  /** Callers of {@link portsOf} still waiting: the thread ids missing, and the resolver. */
  readonly #portWaiters = new Set<{ missing: Set<number>; done: () => void }>();
  /** Flushes waiting for their answer: the ports still to answer, and the resolver. */
  readonly #flushes = new Map<number, { ports: Set<MessagePort>; done: () => void }>();
  #nextFlush = 1;
  #closed = false;
  readonly #onMetrics: (delta: MetricsDelta) => void;

  /** @param onMetrics - told the task metrics every chunk carries, routed or not. */
  constructor(onMetrics: (delta: MetricsDelta) => void) {
    this.#onMetrics = onMetrics;
  }

  /** Takes thread `threadId`'s control port from its hello. */
  adopt(port: MessagePort, threadId: number): void {
    if (this.#closed) {
      port.close();
      return;
    }
    this.#ports.add(port);
    this.#threadIds.add(threadId);
    for (const waiter of this.#portWaiters) {
      waiter.missing.delete(threadId);
      if (waiter.missing.size > 0) continue;
      this.#portWaiters.delete(waiter);
      waiter.done();
    }
    port.on('message', (message: BatchChunk | FlushedMessage) => this.#receive(port, message));
    // A port keeps the process alive only while a batch waits for chunks: a batch whose answer
    // came before its last chunks (a thread's first batch can beat its port) has nothing else
    // keeping the loop alive — stdin paused by backpressure is no handle — and the process
    // would exit with those results unread.
    if (this.#sinks.size === 0) port.unref();
    // A thread may already be running a task cancelled before its port got here.
    if (this.#aborted.size > 0) {
      for (const id of this.#aborted) port.postMessage({ abort: id } satisfies ControlMessage);
      Atomics.add(this.epoch, 0, 1);
    }
    port.once('close', () => {
      // A crashed thread's port closes while its last chunks may still be unread. Reading a
      // port inside its own 'close' handler crashes Node 20, so it is read on the next turn.
      setImmediate(() => {
        this.#drainPort(port);
        this.#ports.delete(port);
        this.#threadIds.delete(threadId);
        // A thread that is gone has nothing left to flush.
        for (const id of [...this.#flushes.keys()]) this.#flushed(port, id);
      });
    });
  }

  /** Routes the chunks of batch `id` to `sink` until {@link unroute}. */
  route(id: number, sink: ChunkSink): void {
    this.#sinks.set(id, sink);
    if (this.#sinks.size === 1) for (const port of this.#ports) port.ref();
  }

  /** Stops routing chunks of batch `id`. */
  unroute(id: number): void {
    if (this.#sinks.delete(id) && this.#sinks.size === 0) for (const port of this.#ports) port.unref();
  }

  /**
   * Delivers every chunk already waiting in a port, synchronously. A runner posts a batch's
   * chunks before its answer, so once the answer is seen, its chunks are readable here.
   */
  drain(): void {
    for (const port of this.#ports) this.#drainPort(port);
  }

  /** Tells every thread to stop task (or batch item) `id`. */
  abort(id: number): void {
    this.#aborted.add(id);
    const message: ControlMessage = { abort: id };
    for (const port of this.#ports) port.postMessage(message);
    // Bumped after posting, so a runner that sees the new epoch finds the messages in its port.
    Atomics.add(this.epoch, 0, 1);
  }

  /** Forgets an abort once its task has settled, so it is no longer replayed. */
  forget(id: number): void {
    this.#aborted.delete(id);
  }

  /**
   * Resolves once every thread of `threadIds` has had its port adopted (or the plane closed). A
   * thread's hello travels apart from its answers, so it may still be unread after the thread
   * answered: who must reach every thread that ran something waits for this first.
   */
  portsOf(threadIds: Iterable<number>): Promise<void> {
    const missing = new Set([...threadIds].filter((id) => !this.#threadIds.has(id)));
    if (missing.size === 0 || this.#closed) return Promise.resolve();
    return new Promise((done) => this.#portWaiters.add({ missing, done }));
  }

  /**
   * Asks every thread to flush the tracer providers registered in it; resolves once each has
   * answered or its port has closed.
   */
  flush(): Promise<void> {
    if (this.#ports.size === 0) return Promise.resolve();
    const id = this.#nextFlush++;
    return new Promise((resolve) => {
      this.#flushes.set(id, { ports: new Set(this.#ports), done: resolve });
      const message: ControlMessage = { flush: id };
      for (const port of this.#ports) port.postMessage(message);
    });
  }

  /** Closes every port; ports that arrive later are closed at once. */
  close(): void {
    this.#closed = true;
    for (const { done } of this.#flushes.values()) done();
    this.#flushes.clear();
    for (const { done } of this.#portWaiters) done();
    this.#portWaiters.clear();
    this.#threadIds.clear();
    for (const port of this.#ports) port.close();
    this.#ports.clear();
    this.#sinks.clear();
    this.#aborted.clear();
  }

  #drainPort(port: MessagePort): void {
    for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) {
      this.#receive(port, entry.message as BatchChunk | FlushedMessage);
    }
  }

  #receive(port: MessagePort, message: BatchChunk | FlushedMessage): void {
    if ('flushed' in message) this.#flushed(port, message.flushed);
    else this.#deliver(message);
  }

  #flushed(port: MessagePort, id: number): void {
    const flush = this.#flushes.get(id);
    if (flush === undefined || !flush.ports.delete(port) || flush.ports.size > 0) return;
    this.#flushes.delete(id);
    flush.done();
  }

  #deliver(chunk: BatchChunk): void {
    if (chunk.metrics !== undefined) this.#onMetrics(chunk.metrics);
    this.#sinks.get(chunk.chunk)?.(chunk);
  }
}
