// Presence under churn: a flood of subscribe/unsubscribe far past --presence-max-pending keeps
// the waiting presence changes at or below the cap (the overflow becomes a resync), and both
// the subscriptions API (through the Redis presence store, read from the other node) and the
// subscription events a watcher on the other node folds converge to the subscribers really
// connected. Two in-process hubs on one real redis-server, real SSE sockets.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import type { RunningHerald } from '../src/start.ts';
import { startTestHub, TEST_KEY } from './support/hub-fixture.ts';
import { startRedis } from './support/redis-server.ts';
import { SseConnection } from './support/sse-client.ts';
import { eventually } from './support/wait.ts';

const PATH = '/.well-known/mercure';
const CAP = 50;
const TOPICS_PER_CONNECTION = 20;

const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Listed {
  id: string;
  subscriber: string;
}

async function list(hub: RunningHerald, token: string): Promise<Set<string>> {
  const res = await fetch(`${hub.url}${PATH}/subscriptions`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return new Set(((await res.json()) as { subscriptions: Listed[] }).subscriptions.map((d) => d.id));
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

test('a subscribe/unsubscribe flood past the presence cap stays bounded and converges to the live subscribers', async () => {
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const config = { redis: redis.url, subscriptions: true, presenceMaxPending: CAP };
  const a = await startTestHub(config);
  cleanups.push(() => a.close());
  const b = await startTestHub(config);
  cleanups.push(() => b.close());
  const feed = a.hub.presence!;

  const watchToken = await mintToken({
    secret: TEST_KEY,
    subscribe: [`${PATH}/subscriptions{/topic}{/subscriber}`],
  });
  const watcher = await SseConnection.open(
    `${b.url}${PATH}?topic=${encodeURIComponent(`${PATH}/subscriptions/{topic}/{subscriber}`)}`,
    { Authorization: `Bearer ${watchToken}` },
  );
  cleanups.push(() => watcher.close());
  assert.equal(watcher.status, 200);
  await watcher.live();

  const readerToken = await mintToken({ secret: TEST_KEY, subscribe: ['*'] });
  const open = async (n: number): Promise<SseConnection> => {
    const query = Array.from(
      { length: TOPICS_PER_CONNECTION },
      (_, i) => `topic=${encodeURIComponent(`/churn/${n}/${i}`)}`,
    );
    const c = await SseConnection.open(`${a.url}${PATH}?${query.join('&')}`, {
      Authorization: `Bearer ${readerToken}`,
    });
    assert.equal(c.status, 200);
    return c;
  };

  // The flood: rounds of 40 clients with 20 topics each (800 changes a round, 16× the cap),
  // half of them dropping again at once, plus the previous round's survivors dropping in part.
  const live = new Set<SseConnection>();
  let n = 0;
  for (let round = 0; round < 6; round++) {
    const opened = await Promise.all(Array.from({ length: 40 }, () => open(n++)));
    for (const [i, c] of opened.entries()) {
      if (i % 2 === 0) c.close();
      else live.add(c);
    }
    for (const c of [...live].slice(0, 8)) {
      c.close();
      live.delete(c);
    }
    assert.ok(feed.pendingCount <= CAP, `pending ${feed.pendingCount} after round ${round}`);
  }
  cleanups.push(() => live.forEach((c) => c.close()));
  await eventually(() => a.hub.connectionCount === live.size, 'the hub to see the drops', 10_000);

  assert.ok(feed.counts.resyncs >= 1, 'the flood overflowed the queue at least once');
  assert.ok(feed.counts.peakPending <= CAP, `peak ${feed.counts.peakPending} over the cap ${CAP}`);

  // The truth: each node's own view (from memory) of its live subscriptions.
  const docsOf = (hub: RunningHerald): Set<string> => {
    const docs = new Set<string>();
    for (const sub of hub.hub.subscriptions())
      for (const sel of sub.selectors)
        docs.add(`${PATH}/subscriptions/${encodeURIComponent(sel.source)}/${encodeURIComponent(sub.id)}`);
    return docs;
  };
  const own = docsOf(a);
  assert.equal(own.size, live.size * TOPICS_PER_CONNECTION);
  const watcherOnly = docsOf(b);
  assert.ok([...watcherOnly].every((id) => !id.includes('churn')), 'B holds only the watcher');

  // The API on B lists A's subscribers from Redis: exactly the live ones (plus B's watcher),
  // no churned subscription left over.
  await eventually(
    async () => sameSet(await list(b, watchToken), new Set([...own, ...watcherOnly])),
    "B's API to list exactly A's live subscriptions",
    10_000,
  );

  // The events the watcher on B received, folded by id, end at the same set.
  const folded = () => {
    const state = new Map<string, boolean>();
    for (const u of watcher.updates) {
      const e = JSON.parse(u.data) as { id: string; active: boolean };
      state.set(e.id, e.active);
    }
    return new Set([...state].filter(([, active]) => active).map(([id]) => id));
  };
  await eventually(() => sameSet(folded(), own), 'the watched events to converge', 10_000);
  assert.ok(!feed.resyncing);
  assert.ok(feed.pendingCount === 0);
});
