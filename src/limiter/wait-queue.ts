/**
 * A waiting line: FIFO within a priority, higher priority first. The limiter's waiters and the
 * scheduler's runs parked on a resource both stand in one.
 *
 * Each priority level is an intrusive doubly linked list, so push, shift and removal of a
 * cancelled waiter are all O(1) whatever the length (no `Array#shift`/`splice`). Levels are kept
 * in a short array sorted by priority. The default level (priority 0) is permanent so the common
 * case never allocates a level; any other level is dropped as soon as it empties, so nothing is
 * retained after waiters leave.
 * @module
 */
import { linkFirst, linkLast, unlink } from '../internal/linked-list.js';
import { levelOf } from '../internal/priority-levels.js';

/** Something waiting for a slot; `grant` is called synchronously once a slot is reserved for it. */
export interface Waiter {
  grant(): void;
}

/** A queued value. Keep it to leave the line with {@link WaitQueue.remove}. */
export class WaitNode<T = Waiter> {
  prev: WaitNode<T> | undefined = undefined;
  next: WaitNode<T> | undefined = undefined;
  /** The level holding the node; undefined once it has left the queue. */
  level: Level<T> | undefined = undefined;

  constructor(readonly waiter: T) {}
}

const DEFAULT_PRIORITY = 0;

class Level<T> {
  head: WaitNode<T> | undefined = undefined;
  tail: WaitNode<T> | undefined = undefined;

  constructor(readonly priority: number) {}
}

/** Priority-ordered FIFO. */
export class WaitQueue<T = Waiter> {
  /** Levels, highest priority first: the permanent default level plus every non-empty other level. */
  #levels: Level<T>[] = [new Level<T>(DEFAULT_PRIORITY)];
  #size = 0;

  /** How many waiters are queued. */
  get size(): number {
    return this.#size;
  }

  /** Appends a waiter behind every waiter of the same or a higher priority. */
  push(waiter: T, priority: number): WaitNode<T> {
    return this.#add(waiter, priority, linkLast);
  }

  /** Puts a waiter ahead of every waiter of its priority (one that had been first before). */
  unshift(waiter: T, priority: number): WaitNode<T> {
    return this.#add(waiter, priority, linkFirst);
  }

  /** The first waiter of the highest priority, left in place. */
  peek(): WaitNode<T> | undefined {
    for (const level of this.#levels) if (level.head !== undefined) return level.head;
    return undefined;
  }

  /** Removes and returns the first waiter of the highest priority, if any. */
  shift(): WaitNode<T> | undefined {
    const node = this.peek();
    if (node !== undefined) this.remove(node);
    return node;
  }

  /** Removes a waiter wherever it stands; a node already gone is ignored. Returns whether it was queued. */
  remove(node: WaitNode<T>): boolean {
    const level = node.level;
    if (level === undefined) return false;
    unlink(level, node);
    node.level = undefined;
    this.#size--;
    if (level.head === undefined && level.priority !== DEFAULT_PRIORITY) this.#dropLevel(level);
    return true;
  }

  #add(waiter: T, priority: number, link: typeof linkLast): WaitNode<T> {
    const node = new WaitNode(waiter);
    const level = levelOf(this.#levels, priority, (p) => new Level<T>(p));
    node.level = level;
    link(level, node);
    this.#size++;
    return node;
  }

  #dropLevel(level: Level<T>): void {
    const index = this.#levels.indexOf(level);
    if (index !== -1) this.#levels.splice(index, 1);
  }
}
