/**
 * Intrusive doubly linked lists: the nodes carry their own links, so adding, and removing a node
 * from anywhere, is O(1) and allocates nothing (no `Array#shift`/`splice`). The wait queues of
 * the limiter and of the scheduler are made of them.
 * @internal
 * @module
 */

/** A node: its neighbours in the list it is in. */
export interface Linked<N> {
  prev: N | undefined;
  next: N | undefined;
}

/** A list: its first and last nodes. */
export interface List<N> {
  head: N | undefined;
  tail: N | undefined;
}

/** Appends `node` to `list`. */
export function linkLast<N extends Linked<N>>(list: List<N>, node: N): void {
  node.prev = list.tail;
  node.next = undefined;
  if (list.tail === undefined) list.head = node;
  else list.tail.next = node;
  list.tail = node;
}

/** Puts `node` first in `list`. */
export function linkFirst<N extends Linked<N>>(list: List<N>, node: N): void {
  node.next = list.head;
  node.prev = undefined;
  if (list.head === undefined) list.tail = node;
  else list.head.prev = node;
  list.head = node;
}

/** Takes `node` out of `list` (which must hold it). */
export function unlink<N extends Linked<N>>(list: List<N>, node: N): void {
  if (node.prev === undefined) list.head = node.next;
  else node.prev.next = node.next;
  if (node.next === undefined) list.tail = node.prev;
  else node.next.prev = node.prev;
  node.prev = node.next = undefined;
}
