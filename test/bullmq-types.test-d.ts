// Type tests of node-orchestrator/bullmq, compiled by `npm run typecheck` against the built
// declarations (the package imports itself), so a type that the build strips shows up here.
import { expectTypeOf } from 'vitest';
import type { MapRecord } from 'node-orchestrator';
import { QueueClient, type JobEvent, type QueueNode } from 'node-orchestrator/bullmq';
import type { Task } from 'node-orchestrator/worker';

// A type alias, as `typeof import('./tasks.js')` is: an interface has no index signature.
type Tasks = {
  double: Task<number, number>;
  tokenize: Task<string, { ids: Int32Array }>;
  helper: (x: number) => number;
};

declare const client: QueueClient<Tasks>;
declare const node: QueueNode<Tasks>;

expectTypeOf(client.run('double', 2)).toEqualTypeOf<Promise<number>>();
expectTypeOf(client.run('tokenize', 'text', { priority: 1, timeoutMs: 10 })).toEqualTypeOf<
  Promise<{ ids: Int32Array }>
>();
expectTypeOf(client.map('tokenize', ['a', 'b'], { ordered: true })).toEqualTypeOf<
  AsyncGenerator<MapRecord<{ ids: Int32Array }>, void, undefined>
>();
// @ts-expect-error: not a task of the module
void client.run('helper', 1);
// @ts-expect-error: the wrong input type
void client.run('double', 'two');
// A type the build strips (`@internal`) would come back as `any` here.
expectTypeOf<JobEvent['outcome']>().not.toBeAny();
expectTypeOf<JobEvent['outcome']>().toEqualTypeOf<'completed' | 'failed' | 'cancelled' | 'handed_back'>();
expectTypeOf(node.orchestrator.limit).toEqualTypeOf<number>();
expectTypeOf(
  new QueueClient({ queue: 'q', connection: 'redis://127.0.0.1:6379' }).jobsInFlight,
).toEqualTypeOf<number>();
