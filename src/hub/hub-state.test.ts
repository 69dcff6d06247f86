import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SelectorSet } from '../protocol/matchers.ts';
import { ANONYMOUS, type Principal } from '../auth/principal.ts';
import { MemoryBroker } from '../broker/memory.ts';
import { MemoryStateStore } from '../broker/memory-state.ts';
import type { StateEntry, StateStore } from '../broker/state-store.ts';
import { parseStatePatch, type StateOp } from '../protocol/state.ts';
import { Hub } from './hub.ts';
import { RecordingSink } from '../../test/support/recording-sink.ts';

const publisher: Principal = { ...ANONYMOUS, anonymous: false, publish: new SelectorSet(['*']) };

/** Wraps a store so an applied change can be held back before the hub publishes it. */
class GatedStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly inner = new MemoryStateStore();
  gate: Promise<void> | undefined;
  async apply(topic: string, op: StateOp, o: { private: boolean }): Promise<StateEntry> {
    const entry = await this.inner.apply(topic, op, o);
    await this.gate;
    return entry;
  }
  get(topic: string) {
    return this.inner.get(topic);
  }
  list(limit: number) {
    return this.inner.list(limit);
  }
  async close() {}
}

async function makeHub(state: StateStore): Promise<Hub> {
  const hub = new Hub({
    broker: new MemoryBroker({ historySize: 100, historyTtlMs: 0 }),
    state,
    heartbeatMs: 0,
    statsIntervalMs: 0,
  });
  await hub.start();
  return hub;
}

const inc = (n = 1) => ({
  topics: ['/t'],
  data: '',
  private: false,
  stateOp: parseStatePatch({ $inc: { n } }),
});

test('a change applied before the snapshot but published after it is not sent twice', async () => {
  const store = new GatedStore();
  const hub = await makeHub(store);
  await hub.publish([inc()], publisher);
  let release!: () => void;
  store.gate = new Promise((r) => (release = r));
  const late = hub.publish([inc()], publisher); // n = 2 in the store, not yet dispatched
  await new Promise((r) => setImmediate(r));
  const sink = new RecordingSink();
  await hub.subscribe({ selectors: ['/t'], principal: ANONYMOUS, sink, snapshot: true });
  assert.equal(JSON.parse(sink.seen[0]!.data).states[0].state.n, 2);
  release();
  store.gate = undefined;
  await late;
  await hub.publish([inc()], publisher);
  await sink.until(() => sink.states().includes(3), 'state 3');
  assert.deepEqual(sink.states(), [3]);
  await hub.close();
});

test('a late, older state change is dropped so no subscriber steps back', async () => {
  const store = new GatedStore();
  const hub = await makeHub(store);
  const sink = new RecordingSink();
  const plain = new RecordingSink();
  await hub.subscribe({ selectors: ['/t'], principal: ANONYMOUS, sink, snapshot: true });
  await hub.subscribe({ selectors: ['/t'], principal: ANONYMOUS, sink: plain });
  let release!: () => void;
  store.gate = new Promise((r) => (release = r));
  const first = hub.publish([inc()], publisher); // version 1, held at the gate
  await new Promise((r) => setImmediate(r));
  store.gate = undefined;
  await hub.publish([inc()], publisher); // version 2 overtakes it
  release();
  await first;
  assert.deepEqual(sink.states(), [2]);
  assert.deepEqual(
    plain.seen.map((s) => JSON.parse(s.data).n),
    [2],
  );
  await hub.close();
});

test('conflation sends the first change at once, then one latest state per interval', async () => {
  const hub = await makeHub(new MemoryStateStore());
  try {
    const sink = new RecordingSink();
    await hub.subscribe({ selectors: ['/t'], principal: ANONYMOUS, sink, throttleMs: 50 });
    const started = Date.now();
    let n = 0;
    while (Date.now() - started < 300) {
      for (let i = 0; i < 50; i++) await hub.publish([inc()], publisher);
      n += 50;
      await new Promise((r) => setImmediate(r));
    }
    await sink.until(() => sink.states().at(-1) === n, `state ${n}`, 10_000);
    const elapsed = Date.now() - started;
    const states = sink.states();
    assert.equal(states[0], 1);
    assert.ok(states.length <= Math.ceil(elapsed / 50) + 2, `${states.length} sends in ${elapsed} ms`);
    assert.ok(states.length < n / 10, `${states.length} sends for ${n} updates`);
    for (let i = 1; i < states.length; i++) assert.ok(states[i]! > states[i - 1]!);
  } finally {
    await hub.close();
  }
});

test('a closed throttled subscription leaves no flush behind', async () => {
  const hub = await makeHub(new MemoryStateStore());
  const sink = new RecordingSink();
  const sub = await hub.subscribe({ selectors: ['/t'], principal: ANONYMOUS, sink, throttleMs: 1000 });
  await hub.publish([inc()], publisher);
  await hub.publish([inc()], publisher);
  assert.ok(sub.conflation?.timer);
  hub.unsubscribe(sub, 'client');
  assert.deepEqual(sink.states(), [1]);
  await hub.close();
});

test('retain and patch without a state store are refused', async () => {
  const hub = new Hub({
    broker: new MemoryBroker({ historySize: 10, historyTtlMs: 0 }),
    heartbeatMs: 0,
    statsIntervalMs: 0,
  });
  await hub.start();
  await assert.rejects(hub.publish([inc()], publisher), /keeps no retained state/);
  await hub.close();
});
