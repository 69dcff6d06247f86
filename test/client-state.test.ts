import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { mintToken } from '../src/auth/mint.ts';
import {
  StateCache,
  subscribe,
  type HeraldSubscription,
  type SnapshotPayload,
  type StatePayload,
  type SubscribeOptions,
  type WebSocketCtor,
} from '../src/client/index.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';

const KEY = 'client-state-secret-client-state-secret';
const WS = WebSocket as unknown as WebSocketCtor;

/** A subscription's snapshots and states, folded into a StateCache, with a bounded wait. */
function stateRecorder() {
  const snapshots: [SnapshotPayload, readonly string[]][] = [];
  const states: StatePayload[] = [];
  const cache = new StateCache();
  let check: () => void = () => {};
  const until = (pred: () => boolean, what: string, ms = 8000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
      check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        check = () => {};
        resolve();
      };
      check();
    });
  const options: Pick<SubscribeOptions, 'onUpdate' | 'onSnapshot' | 'onState' | 'onStatus'> = {
    onUpdate: () => {},
    onSnapshot: (s, selectors) => {
      snapshots.push([s, selectors]);
      cache.applySnapshot(s, selectors);
      check();
    },
    onState: (s) => {
      states.push(s);
      cache.applyState(s);
      check();
    },
    onStatus: () => check(),
  };
  return { snapshots, states, cache, until, options };
}

const n = (v: unknown): number | undefined => (v as { n?: number } | undefined)?.n;

describe('the client SDK with state topics', () => {
  let hub: RunningHerald;
  let url: string;
  let token: string;

  before(async () => {
    hub = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: KEY, anonymous: true, logLevel: 'silent' });
    url = `${hub.url}/.well-known/mercure`;
    token = await mintToken({ secret: KEY, publish: ['*'] });
  });
  after(() => hub.close());

  const post = async (body: unknown): Promise<string> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return res.text();
  };

  for (const transport of ['sse', 'ws'] as const) {
    test(`${transport}: the snapshot comes first, then throttled states, and lastEventId follows them`, async () => {
      const topic = `https://ex.com/client/${transport}/state`;
      await post({ topics: topic, patch: { $inc: { n: 1 } } });
      const r = stateRecorder();
      const sub = subscribe({
        url,
        topics: [topic],
        snapshot: true,
        throttle: 50,
        transport,
        WebSocket: WS,
        ...r.options,
      });
      try {
        assert.equal(sub.transport, transport);
        await r.until(() => r.snapshots.length === 1, 'snapshot');
        assert.deepEqual(r.snapshots[0]![0].states[0]!.state, { n: 1 });
        assert.deepEqual(r.snapshots[0]![1], [topic]);
        let last = '';
        for (let i = 0; i < 20; i++) last = await post({ topics: topic, patch: { $inc: { n: 1 } } });
        await r.until(() => n(r.cache.get(topic)) === 21, 'n = 21');
        assert.ok(r.states.length < 20, `${r.states.length} states for 20 changes`);
        assert.equal(sub.lastEventId, last);
      } finally {
        sub.close();
      }
    });

    test(`${transport}: after the hub drops the connection mid-increments, the reconnect resends the snapshot with the last id and the merged state ends right`, async () => {
      const topics = [`https://ex.com/client/${transport}/cut/a`, `https://ex.com/client/${transport}/cut/b`];
      const gone = `https://ex.com/client/${transport}/cut/gone`;
      await post({ topics: gone, patch: { here: true } });
      const r = stateRecorder();
      let opens = 0;
      const sub: HeraldSubscription = subscribe({
        url,
        topics: [`https://ex.com/client/${transport}/cut/{x}`],
        snapshot: true,
        transport,
        WebSocket: WS,
        backoff: { initialMs: 10, maxMs: 50 },
        ...r.options,
        onStatus: (s) => {
          if (s === 'open') opens++;
          r.options.onStatus!(s, undefined);
        },
      });
      try {
        await r.until(() => r.snapshots.length === 1, 'first snapshot');
        assert.deepEqual(r.cache.get(gone), { here: true });
        const { resumes, gaps } = hub.hub.counters;
        const rounds = 4;
        const per = 25;
        for (let round = 0; round < rounds; round++) {
          const pumping = Promise.all(
            topics.map(async (t) => {
              for (let i = 0; i < per; i++) await post({ topics: t, patch: { $inc: { n: 1 } } });
            }),
          );
          const before = r.states.length;
          await r.until(() => r.states.length > before, 'some live state');
          // The hub drops the subscriber (as it does a slow one): the client must reconnect.
          for (const s of [...hub.hub.subscriptions()]) hub.hub.unsubscribe(s, 'slow-consumer');
          if (round === 1) await post({ topics: gone, patch: null });
          await pumping;
          await r.until(() => r.snapshots.length >= round + 2 && sub.status === 'open', `reconnect ${round}`);
        }
        await r.until(
          () => topics.every((t) => n(r.cache.get(t)) === rounds * per),
          `every counter at ${rounds * per}`,
        );
        assert.equal(r.cache.get(gone), undefined, 'a state removed meanwhile is gone');
        assert.ok(opens >= rounds + 1, `${opens} opens`);
        assert.ok(hub.hub.counters.resumes - resumes >= rounds, 'each reconnect resumed from the last id');
        assert.equal(hub.hub.counters.gaps, gaps, 'from an id the hub knew');
        // Each snapshot after a reconnect covered every selector of the subscription.
        for (const [, selectors] of r.snapshots) assert.deepEqual(selectors, sub.topics);
        // Versions never went back for a topic between one state event and the next.
        for (const t of topics) {
          const versions = r.states.filter((s) => s.topic === t).map((s) => s.version);
          for (let i = 1; i < versions.length; i++)
            assert.ok(versions[i]! > versions[i - 1]!, versions.join(','));
        }
      } finally {
        sub.close();
      }
    });

    test(`${transport}: a bad throttle stops the subscription with HERALD_ERR_BAD_THROTTLE`, async () => {
      const r = stateRecorder();
      const sub = subscribe({
        url,
        topics: ['https://ex.com/t'],
        throttle: 0,
        transport,
        WebSocket: WS,
        ...r.options,
      });
      await r.until(() => sub.status === 'closed', 'closed');
      assert.equal(sub.error?.code, 'HERALD_ERR_BAD_THROTTLE');
      assert.equal(sub.error?.status, 400);
    });
  }

  test('ws: topics added with setTopics get a snapshot of their own, naming only them', async () => {
    const a = 'https://ex.com/client/add/a';
    const b = 'https://ex.com/client/add/b';
    await post([
      { topics: a, patch: { $inc: { n: 1 } } },
      { topics: b, patch: { $inc: { n: 2 } } },
    ]);
    const r = stateRecorder();
    const sub = subscribe({ url, topics: [a], snapshot: true, transport: 'ws', WebSocket: WS, ...r.options });
    try {
      await r.until(() => r.snapshots.length === 1, 'first snapshot');
      sub.setTopics([a, b]);
      await r.until(() => r.snapshots.length === 2, 'snapshot of the added topic');
      assert.deepEqual(r.snapshots[1]![1], [b]);
      assert.deepEqual(
        r.snapshots[1]![0].states.map((s) => s.topic),
        [b],
      );
      assert.deepEqual([n(r.cache.get(a)), n(r.cache.get(b))], [1, 2]);
      await post({ topics: b, patch: { $inc: { n: 1 } } });
      await r.until(() => n(r.cache.get(b)) === 3, 'b live');
    } finally {
      sub.close();
    }
  });
});
