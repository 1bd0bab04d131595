/**
 * The order in which waiting runs start: priority first; within a priority, tenants share the
 * starts in proportion to their weights by deficit round robin (Shreedhar & Varghese); FIFO
 * within a tenant.
 *
 * Each priority level keeps one FIFO per tenant with work at that level, and the tenants that
 * may start something (under their maxInFlight) take turns. A tenant gets its quantum (its
 * weight over the smallest weight, so at least 1) of credit when its turn begins; each start
 * costs 1; its turn ends when the credit runs out (what is left, below 1, carries over to its
 * next turn), and it goes to the tail. As in FQ-CoDel, a tenant that arrives (had nothing
 * waiting for a whole round) takes its first turn ahead of the tenants already taking turns, so
 * its first run starts with the next free thread; a tenant that empties is kept in the rotation
 * until its turn comes round, so that one which refills at once cannot claim that head start
 * again. Credit lapses when a tenant leaves the turns (idle
 * for a round, or at its cap): an idle tenant reserves nothing and saves nothing up.
 *
 * Every operation is O(1) amortized, except for a scan of the priority levels in use (few):
 * links are intrusive, and since a quantum is at least 1 a turn always starts something.
 * @module
 */
import { linkLast, unlink, type List } from '../internal/linked-list.js';
import { levelOf } from '../internal/priority-levels.js';
import type { Tenant } from './tenants.js';

/** A queued entry. The fair queue owns `prev`, `next` and `line`. */
export class FairNode {
  prev: FairNode | undefined = undefined;
  next: FairNode | undefined = undefined;
  /** The tenant's line holding the node; undefined while it is not in the fair queue. */
  line: TenantLine | undefined = undefined;
  /** Whether it is in its line's `returned` list. */
  returned = false;

  constructor(
    readonly tenant: Tenant,
    readonly priority: number,
  ) {}
}

/**
 * One tenant's FIFO at one priority, and its place in that level's turns. Runs that come back
 * from a resource's line wait in `returned`, ahead of the others: they are older, and they come
 * back in the order they left.
 */
class TenantLine {
  head: FairNode | undefined = undefined;
  tail: FairNode | undefined = undefined;
  readonly returned: List<FairNode> = { head: undefined, tail: undefined };
  /** Credit left in the current turn. */
  credit = 0;
  /** Whether its current turn has begun (its quantum was added). */
  inTurn = false;
  /** Links in the list of turns it is in (`turns`: the level's arrivals or its rotation). */
  prev: TenantLine | undefined = undefined;
  next: TenantLine | undefined = undefined;
  turns: List<TenantLine> | undefined = undefined;

  constructor(
    readonly tenant: Tenant,
    readonly level: Level,
  ) {}
}

class Level {
  readonly lines = new Map<Tenant, TenantLine>();
  /** Tenants that just arrived: each takes one turn before joining the rotation. */
  readonly arrivals: List<TenantLine> = { head: undefined, tail: undefined };
  /** Tenants taking turns. */
  readonly rotation: List<TenantLine> = { head: undefined, tail: undefined };

  constructor(readonly priority: number) {}
}

/** Priority levels of per-tenant FIFOs, served by deficit round robin. @internal */
export class FairQueue {
  /** Levels in use, highest priority first. */
  readonly #levels: Level[] = [];
  /** The lines of each tenant, for taking it out of (and back into) the turns. */
  readonly #linesOf = new Map<Tenant, Set<TenantLine>>();
  #size = 0;

  /** Entries queued. */
  get size(): number {
    return this.#size;
  }

  /** Appends `node` behind the tenant's entries of the same priority. */
  push(node: FairNode): void {
    this.#add(node, false);
  }

  /**
   * Puts back a node that came back from a resource's line: ahead of the tenant's other entries
   * of its priority, behind those that came back before it.
   */
  pushReturned(node: FairNode): void {
    this.#add(node, true);
  }

  /** Takes `node` out without charging its tenant. Returns whether it was queued. */
  remove(node: FairNode): boolean {
    const line = node.line;
    if (line === undefined) return false;
    unlink(node.returned ? line.returned : line, node);
    node.line = undefined;
    node.returned = false;
    this.#size--;
    node.tenant.queued--;
    if (!isEmpty(line)) return true;
    // Emptied: an arrival joins the rotation (empty, so that refilling at once earns no second
    // head start); a line out of the turns (its tenant at its cap) goes; one in the rotation
    // stays until its turn comes round.
    if (line.turns === undefined) this.#drop(line);
    else if (line.turns === line.level.arrivals) this.#endTurn(line);
    return true;
  }

  /**
   * The entry that starts next: the first of the tenant whose turn it is, in the highest level
   * with a tenant that may start something. It stays queued: {@link take} it to start it, or
   * {@link remove} it (it cannot start yet) and ask again.
   */
  peek(): FairNode | undefined {
    const levels = this.#levels;
    for (let index = 0; index < levels.length;) {
      const level = levels[index] as Level;
      const found = this.#peekLevel(level);
      if (found !== undefined) return found;
      // A level whose last line went is gone from the array: the next one took its index.
      if (levels[index] === level) index++;
    }
    return undefined;
  }

  #peekLevel(level: Level): FairNode | undefined {
    for (;;) {
      const line = level.arrivals.head ?? level.rotation.head;
      if (line === undefined) return undefined;
      if (isEmpty(line)) {
        // An empty line reached in the rotation has been idle for a round: it goes.
        if (line.turns === level.rotation) this.#drop(line);
        else this.#endTurn(line);
        continue;
      }
      if (!line.inTurn) {
        line.inTurn = true;
        line.credit += line.tenant.quantum;
      }
      if (line.credit >= 1) return line.returned.head ?? line.head;
      this.#endTurn(line);
    }
  }

  /** Starts `node` (the one {@link peek} returned): charges its tenant one start. */
  take(node: FairNode): void {
    const line = node.line;
    if (line === undefined) return;
    line.credit -= 1;
    this.remove(node);
    if (line.turns !== undefined && line.inTurn && line.credit < 1) this.#endTurn(line);
  }

  /** Takes the tenant's lines out of the turns (it reached its maxInFlight). */
  block(tenant: Tenant): void {
    for (const line of [...(this.#linesOf.get(tenant) ?? [])]) {
      this.#leaveTurns(line);
      if (isEmpty(line)) this.#drop(line);
    }
  }

  /** Puts the tenant's lines back at the tail of the rotations (it was busy, not idle). */
  unblock(tenant: Tenant): void {
    for (const line of this.#linesOf.get(tenant) ?? []) {
      if (line.turns === undefined && !isEmpty(line)) this.#joinTurns(line, line.level.rotation);
    }
  }

  #add(node: FairNode, returned: boolean): void {
    const line = this.#lineFor(node);
    node.line = line;
    node.returned = returned;
    linkLast(returned ? line.returned : line, node);
    this.#size++;
    line.tenant.queued++;
    if (!line.tenant.blocked && line.turns === undefined) this.#joinTurns(line, line.level.arrivals);
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

  /** Ends the line's turn (what credit is left, below 1, carries over): it goes to the tail of the rotation. */
  #endTurn(line: TenantLine): void {
    line.inTurn = false;
    const { rotation } = line.level;
    if (rotation.tail === line || line.turns === undefined) return;
    unlink(line.turns, line);
    this.#joinTurns(line, rotation);
  }

  #joinTurns(line: TenantLine, turns: List<TenantLine>): void {
    line.turns = turns;
    linkLast(turns, line);
  }

  #leaveTurns(line: TenantLine): void {
    if (line.turns === undefined) return;
    unlink(line.turns, line);
    line.turns = undefined;
    line.inTurn = false;
    line.credit = 0;
  }

  #drop(line: TenantLine): void {
    this.#leaveTurns(line);
    const { level, tenant } = line;
    level.lines.delete(tenant);
    const lines = this.#linesOf.get(tenant);
    lines?.delete(line);
    if (lines?.size === 0) this.#linesOf.delete(tenant);
    if (level.lines.size === 0) this.#levels.splice(this.#levels.indexOf(level), 1);
  }
}

function isEmpty(line: TenantLine): boolean {
  return line.head === undefined && line.returned.head === undefined;
}
