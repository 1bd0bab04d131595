/**
 * The order in which waiting runs start: priority first; within a priority, tenants share the
 * starts in proportion to their weights by deficit round robin (Shreedhar & Varghese); FIFO
 * within a tenant.
 *
 * Each priority level keeps one FIFO per tenant with work at that level, and a rotation of the
 * tenants that may start something now (those with work there and under their maxInFlight). A
 * tenant at the head of a rotation gets its quantum (its weight over the smallest weight, so at
 * least 1) of credit when its turn begins; each start costs 1; its turn ends when the credit
 * runs out, and it moves to the tail. A tenant that empties, or reaches its maxInFlight, leaves
 * the rotation and its credit lapses: an idle tenant reserves nothing and saves nothing up.
 *
 * Every operation is O(1) except for a scan of the priority levels in use (few): links are
 * intrusive, and since a quantum is at least 1, the head of a rotation can always start
 * something after at most one turn change.
 * @module
 */
import { linkFirst, linkLast, unlink, type List } from '../internal/linked-list.js';
import { levelOf } from '../internal/priority-levels.js';
import type { Tenant } from './tenants.js';

/** A queued entry. The fair queue owns `prev`, `next` and `line`. */
export class FairNode {
  prev: FairNode | undefined = undefined;
  next: FairNode | undefined = undefined;
  /** The tenant's line holding the node; undefined while it is not in the fair queue. */
  line: TenantLine | undefined = undefined;

  constructor(
    readonly tenant: Tenant,
    readonly priority: number,
  ) {}
}

/** One tenant's FIFO at one priority, and its place in that level's rotation. */
class TenantLine {
  head: FairNode | undefined = undefined;
  tail: FairNode | undefined = undefined;
  /** Credit left in the current turn. */
  credit = 0;
  /** Whether its current turn has begun (its quantum was added). */
  inTurn = false;
  /** Links of the level's rotation; `rotating` says whether it is in it. */
  prev: TenantLine | undefined = undefined;
  next: TenantLine | undefined = undefined;
  rotating = false;

  constructor(
    readonly tenant: Tenant,
    readonly level: Level,
  ) {}
}

class Level {
  readonly lines = new Map<Tenant, TenantLine>();
  /** The tenants that may start something here, in turn order. */
  readonly rotation: List<TenantLine> = { head: undefined, tail: undefined };

  constructor(readonly priority: number) {}
}

/** Priority levels of per-tenant FIFOs, served by deficit round robin. @internal */
export class FairQueue {
  /** Levels in use, highest priority first. */
  readonly #levels: Level[] = [];
  /** The lines of each tenant, for taking it out of (and back into) the rotations. */
  readonly #linesOf = new Map<Tenant, Set<TenantLine>>();
  #size = 0;

  /** Entries queued. */
  get size(): number {
    return this.#size;
  }

  /** Appends `node` behind the tenant's entries of the same priority. */
  push(node: FairNode): void {
    this.#add(node, linkLast);
  }

  /** Puts `node` before the tenant's other entries of its priority (it waited longer than they did). */
  pushFront(node: FairNode): void {
    this.#add(node, linkFirst);
  }

  /** Takes `node` out without charging its tenant. Returns whether it was queued. */
  remove(node: FairNode): boolean {
    const line = node.line;
    if (line === undefined) return false;
    unlink(line, node);
    node.line = undefined;
    this.#size--;
    node.tenant.queued--;
    if (line.head === undefined) this.#dropLine(line);
    return true;
  }

  /**
   * The entry that starts next: the first of the tenant whose turn it is, in the highest level
   * with a tenant that may start something. It stays queued: {@link take} it to start it, or
   * {@link remove} it (it cannot start yet) and ask again.
   */
  peek(): FairNode | undefined {
    for (const level of this.#levels) {
      for (let line = level.rotation.head; line !== undefined; line = level.rotation.head) {
        if (!line.inTurn) {
          line.inTurn = true;
          line.credit += line.tenant.quantum;
        }
        if (line.credit >= 1) return line.head;
        this.#endTurn(line);
      }
    }
    return undefined;
  }

  /** Starts `node` (the one {@link peek} returned): charges its tenant one start. */
  take(node: FairNode): void {
    const line = node.line;
    if (line === undefined) return;
    line.credit -= 1;
    this.remove(node);
    if (line.rotating && line.credit < 1) this.#endTurn(line);
  }

  /** Takes the tenant's lines out of the rotations (it reached its maxInFlight). */
  block(tenant: Tenant): void {
    for (const line of this.#linesOf.get(tenant) ?? []) this.#leaveRotation(line);
  }

  /** Puts the tenant's lines back into the rotations, at their tails. */
  unblock(tenant: Tenant): void {
    for (const line of this.#linesOf.get(tenant) ?? []) this.#joinRotation(line);
  }

  #add(node: FairNode, link: typeof linkLast): void {
    const line = this.#lineFor(node);
    node.line = line;
    link(line, node);
    this.#size++;
    line.tenant.queued++;
    if (!line.tenant.blocked) this.#joinRotation(line);
  }

  #lineFor(node: FairNode): TenantLine {
    const level = levelOf(this.#levels, node.priority, (priority) => new Level(priority));
    let line = level.lines.get(node.tenant);
    if (line === undefined) {
      line = new TenantLine(node.tenant, level);
      level.lines.set(node.tenant, line);
      let lines = this.#linesOf.get(node.tenant);
      if (lines === undefined) {
        lines = new Set();
        this.#linesOf.set(node.tenant, lines);
      }
      lines.add(line);
    }
    return line;
  }

  #endTurn(line: TenantLine): void {
    line.inTurn = false;
    const { rotation } = line.level;
    if (rotation.tail === line) return;
    unlink(rotation, line);
    linkLast(rotation, line);
  }

  #joinRotation(line: TenantLine): void {
    if (line.rotating || line.head === undefined) return;
    line.rotating = true;
    linkLast(line.level.rotation, line);
  }

  #leaveRotation(line: TenantLine): void {
    if (!line.rotating) return;
    unlink(line.level.rotation, line);
    line.rotating = false;
    line.inTurn = false;
    line.credit = 0;
  }

  #dropLine(line: TenantLine): void {
    this.#leaveRotation(line);
    const { level, tenant } = line;
    level.lines.delete(tenant);
    const lines = this.#linesOf.get(tenant);
    lines?.delete(line);
    if (lines?.size === 0) this.#linesOf.delete(tenant);
    if (level.lines.size === 0) this.#levels.splice(this.#levels.indexOf(level), 1);
  }
}
