import { once } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlane } from '../src/pool/control-plane.js';
import type { ControlMessage } from '../src/pool/protocol.js';

/** A thread's side of a control port: answers flush requests, as the runner does. */
function thread(): { main: MessagePort; flushes: number[] } {
  const { port1: runner, port2: main } = new MessageChannel();
  const flushes: number[] = [];
  runner.on('message', (message: ControlMessage) => {
    if ('flush' in message) {
      flushes.push(message.flush);
      runner.postMessage({ flushed: message.flush });
    }
  });
  runner.unref();
  return { main, flushes };
}

/** Whether `promise` has settled, after everything already queued has run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe('ControlPlane', () => {
  const planes: ControlPlane[] = [];
  afterEach(() => {
    for (const plane of planes.splice(0)) plane.close();
  });
  function plane(): ControlPlane {
    const created = new ControlPlane(() => {});
    planes.push(created);
    return created;
  }

  it('portsOf waits for the hello of every thread named, however late it is read', async () => {
    const control = plane();
    const [a, b] = [thread(), thread()];
    control.adopt(a.main, 1);
    const both = control.portsOf([1, 2]);
    expect(await isSettled(both)).toBe(false);
    control.adopt(b.main, 2);
    expect(await isSettled(both)).toBe(true);
    // Once known, a thread is not waited for again.
    expect(await isSettled(control.portsOf([1, 2]))).toBe(true);
  });

  it('a flush after portsOf reaches the thread whose hello came last (spans are not left behind)', async () => {
    const control = plane();
    const [a, b] = [thread(), thread()];
    control.adopt(a.main, 1);
    const ready = control.portsOf([1, 2]).then(() => control.flush());
    control.adopt(b.main, 2);
    await ready;
    expect([a.flushes.length, b.flushes.length]).toEqual([1, 1]);
  });

  it('a thread whose port closed is waited for again, and close() releases every waiter', async () => {
    const control = plane();
    const a = thread();
    control.adopt(a.main, 1);
    const closed = once(a.main, 'close');
    a.main.close();
    await closed;
    // The plane forgets the port on the turn after its 'close' event.
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = control.portsOf([1]);
    expect(await isSettled(waiting)).toBe(false);
    control.close();
    expect(await isSettled(waiting)).toBe(true);
  });
});
