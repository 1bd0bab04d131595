/**
 * A waiting line: FIFO within a priority, higher priority first. The limiter's waiters and the
 * pool's staged runs both stand in one.
 *
 * Each priority level is an intrusive doubly linked list, so push, shift and removal of a
 * cancelled waiter are all O(1) whatever the length (no `Array#shift`/`splice`). Levels are kept
 * in a short array sorted by priority. The default level (priority 0) is permanent so the common
 * case never allocates a level; any other level is dropped as soon as it empties, so nothing is
 * retained after waiters leave.
 * @module
 */

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
    const node = new WaitNode(waiter);
    const level = this.#levelFor(priority);
    node.level = level;
    node.prev = level.tail;
    if (level.tail === undefined) level.head = node;
    else level.tail.next = node;
    level.tail = node;
    this.#size++;
    return node;
  }

  /** Removes and returns the first waiter of the highest priority, if any. */
  shift(): WaitNode<T> | undefined {
    for (const level of this.#levels) {
      const node = level.head;
      if (node !== undefined) {
        this.remove(node);
        return node;
      }
    }
    return undefined;
  }

  /** Removes a waiter wherever it stands; a node already gone is ignored. Returns whether it was queued. */
  remove(node: WaitNode<T>): boolean {
    const level = node.level;
    if (level === undefined) return false;
    if (node.prev === undefined) level.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) level.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = node.level = undefined;
    this.#size--;
    if (level.head === undefined && level.priority !== DEFAULT_PRIORITY) this.#dropLevel(level);
    return true;
  }

  #levelFor(priority: number): Level<T> {
    const levels = this.#levels;
    // Few distinct priorities are in use at once, so a linear scan beats any tree here.
    let index = 0;
    while (index < levels.length) {
      const level = levels[index] as Level<T>;
      if (level.priority === priority) return level;
      if (level.priority < priority) break;
      index++;
    }
    const level = new Level<T>(priority);
    levels.splice(index, 0, level);
    return level;
  }

  #dropLevel(level: Level<T>): void {
    const index = this.#levels.indexOf(level);
    if (index !== -1) this.#levels.splice(index, 1);
  }
}
