import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { parseStatePatch } from '../protocol/state.ts';
import { ClusterStateStore, serveState } from './cluster-state.ts';
import type { ClusterLink } from './cluster.ts';
import { MemoryStateStore } from './memory-state.ts';
import { stateStoreContract } from './state-store.contract.ts';

/** A worker <-> primary channel in one process, asynchronous and copying like IPC. */
function linkPair(): {
  worker: ClusterLink<never, unknown>;
  primary: ClusterLink<never, unknown>;
  cut(): void;
} {
  let connected = true;
  const handlers: { toWorker?: (m: unknown) => void; toPrimary?: (m: unknown) => void } = {};
  const deliver = (to: 'toWorker' | 'toPrimary', m: unknown) =>
    setImmediate(() => {
      if (connected) handlers[to]?.(structuredClone(m));
    });
  const end = (
    inbox: 'toWorker' | 'toPrimary',
    outbox: 'toWorker' | 'toPrimary',
  ): ClusterLink<never, unknown> => ({
    send: (m) => deliver(outbox, m),
    listen(fn) {
      handlers[inbox] = fn;
      return () => (handlers[inbox] = undefined);
    },
    get connected() {
      return connected;
    },
  });
  return {
    worker: end('toWorker', 'toPrimary'),
    primary: end('toPrimary', 'toWorker'),
    cut: () => (connected = false),
  };
}

stateStoreContract('cluster (worker to the primary over a link)', async (limits) => {
  const link = linkPair();
  serveState(link.primary, new MemoryStateStore(limits ? { limits } : {}));
  return new ClusterStateStore(link.worker);
});

test('cluster: two workers on one primary share one state: every increment counts once', async () => {
  const owner = new MemoryStateStore();
  const workers = [linkPair(), linkPair()].map((l) => {
    serveState(l.primary, owner);
    return new ClusterStateStore(l.worker);
  });
  const inc = parseStatePatch({ $inc: { n: 1 } });
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) => workers[i % 2]!.apply('/c', inc, { private: false })),
  );
  assert.deepEqual((await owner.get('/c'))?.state, { n: 200 });
  const versions = results.map((r) => r.version).sort((a, b) => a - b);
  assert.equal(new Set(versions).size, 200, 'every change has its own hub-wide version');
  assert.deepEqual((await workers[1]!.get('/c'))?.state, { n: 200 });
});

test('cluster: a refused change comes back as the same HeraldError; a lost primary rejects at once', async () => {
  const link = linkPair();
  serveState(link.primary, new MemoryStateStore());
  const store = new ClusterStateStore(link.worker);
  await store.apply('/s', parseStatePatch({ label: 'x' }), { private: false });
  await assert.rejects(
    store.apply('/s', parseStatePatch({ $inc: { label: 1 } }), { private: false }),
    (e: unknown) =>
      e instanceof HeraldError && e.code === ErrorCode.badPatch && !e.logMessage.includes('label'),
  );
  link.cut();
  await assert.rejects(store.get('/s'), /primary process is gone/);
  await store.close();
});
