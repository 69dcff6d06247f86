import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANONYMOUS, type Principal } from '../auth/principal.ts';
import { MemoryBroker } from '../broker/memory.ts';
import type { EncodedUpdate } from '../protocol/frames.ts';
import { SelectorSet } from '../protocol/matchers.ts';
import type { PublishInput, Update } from '../protocol/update.ts';
import { eventually } from '../../test/support/wait.ts';
import { Hub } from './hub.ts';
import type { Sink } from './sink.ts';

/** Records what the hub writes (the hub's own seam, not an external service). */
class RecordingSink implements Sink {
  readonly transport = 'sse' as const;
  sent: EncodedUpdate[] = [];
  open() {}
  send(u: EncodedUpdate) {
    this.sent.push(u);
  }
  notice() {}
  heartbeat() {}
  close() {}
}

/** The memory broker, counting the size of every publish call. */
class CountingBroker extends MemoryBroker {
  readonly batches: number[] = [];
  override publish(inputs: readonly PublishInput[]): Promise<Update[]> {
    this.batches.push(inputs.length);
    return super.publish(inputs);
  }
}

const watcherPrincipal: Principal = { ...ANONYMOUS, anonymous: false, subscribe: new SelectorSet(['*']) };
const PATH = '/.well-known/mercure';

test('a reconnect storm reaches presence watchers coalesced: bounded batches, short-lived subscriptions never announced', async () => {
  const broker = new CountingBroker({ historySize: 10, historyTtlMs: 0 });
  const MAX_BATCH = 100;
  const hub = new Hub({
    broker,
    heartbeatMs: 0,
    statsIntervalMs: 0,
    subscriptionEventsPath: PATH,
    presence: { intervalMs: 200, maxBatch: MAX_BATCH },
  });
  await hub.start();
  const watcher = new RecordingSink();
  // Watching the presence topics only: not itself announced (reserved namespace).
  await hub.subscribe({
    selectors: [`${PATH}/subscriptions/{topic}/{subscriber}`],
    principal: watcherPrincipal,
    sink: watcher,
  });
  const events = () =>
    watcher.sent.map((e) => JSON.parse(e.update.data) as { subscriber: string; active: boolean });

  const N = 300;
  const first = [];
  for (let i = 0; i < N; i++)
    first.push(
      await hub.subscribe({ selectors: [`/room/${i}`], principal: ANONYMOUS, sink: new RecordingSink() }),
    );
  await eventually(() => watcher.sent.length >= N, 'the first joins', 10_000);

  // The storm, all within one interval (no timer runs between these awaits): every client
  // drops and comes back as a new subscription, and 200 clients connect and drop at once.
  broker.batches.length = 0;
  const before = watcher.sent.length;
  for (const sub of first) hub.unsubscribe(sub, 'client');
  const second = [];
  for (let i = 0; i < N; i++)
    second.push(
      await hub.subscribe({ selectors: [`/room/${i}`], principal: ANONYMOUS, sink: new RecordingSink() }),
    );
  for (let i = 0; i < 200; i++) {
    const flicker = await hub.subscribe({
      selectors: ['/flicker'],
      principal: ANONYMOUS,
      sink: new RecordingSink(),
    });
    hub.unsubscribe(flicker, 'client');
  }
  // One leave per old subscription and one join per new one: 2N net changes, out of 2N + 400.
  await eventually(() => watcher.sent.length >= before + 2 * N, 'the storm events', 10_000);
  const storm = events().slice(before);
  assert.equal(storm.length, 2 * N, 'no flicker events, nothing twice');
  assert.deepEqual(
    new Set(storm.filter((e) => !e.active).map((e) => e.subscriber)),
    new Set(first.map((s) => s.id)),
  );
  assert.deepEqual(
    new Set(storm.filter((e) => e.active).map((e) => e.subscriber)),
    new Set(second.map((s) => s.id)),
  );
  // 600 events left in publishes of at most 100: 6 broker publishes instead of 800.
  assert.ok(
    broker.batches.every((n) => n <= MAX_BATCH),
    `batches ${broker.batches.join(',')}`,
  );
  assert.equal(broker.batches.length, Math.ceil((2 * N) / MAX_BATCH));
  assert.equal(hub.presence!.counts.cancelled, 200);
  // The API view is exact at once, whatever is still gathered.
  const listed = (await hub.presence!.list()).map((d) => d.subscriber);
  assert.deepEqual(
    new Set(listed),
    new Set([...second.map((s) => s.id), ...[...hub.subscriptions()].map((s) => s.id)]),
  );
  await hub.close();
});
