import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import type { RunningHerald } from '../src/start.ts';
import { SseConnection } from './support/sse-client.ts';
import { TEST_KEY, hubUrl, startTestHub } from './support/hub-fixture.ts';

const FEED = 'https://example.com/feed';
const PRESENCE = '/.well-known/mercure/subscriptions{/topic}{/subscriber}';

describe('subscriptions API and subscription events (presence)', () => {
  let hub: RunningHerald;
  let watcherToken: string;
  before(async () => {
    hub = await startTestHub({ anonymous: true, subscriptions: true });
    watcherToken = await mintToken({ secret: TEST_KEY, subscribe: [PRESENCE, FEED] });
  });
  after(() => hub.close());

  const api = async (path: string, token?: string) => {
    const res = await fetch(`${hub.url}${path}`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };

  test('a watcher sees others connect and disconnect, with their mercure.payload', async () => {
    const watcher = await SseConnection.open(
      hubUrl(hub, `?topic=${encodeURIComponent('/.well-known/mercure/subscriptions/{topic}/{subscriber}')}`),
      {
        Authorization: `Bearer ${watcherToken}`,
      },
    );
    await watcher.live();
    const aliceToken = await mintToken({ secret: TEST_KEY, subscribe: [FEED], payload: { user: 'alice' } });
    const alice = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(FEED)}`), {
      Authorization: `Bearer ${aliceToken}`,
    });
    await alice.live();
    await watcher.waitForUpdates(1);
    const joined = JSON.parse(watcher.updates[0]!.data);
    assert.equal(joined.type, 'Subscription');
    assert.equal(joined.topic, FEED);
    assert.equal(joined.active, true);
    assert.deepEqual(joined.payload, { user: 'alice' });
    assert.equal(
      joined.id,
      `/.well-known/mercure/subscriptions/${encodeURIComponent(FEED)}/${encodeURIComponent(joined.subscriber)}`,
    );

    const list = await api('/.well-known/mercure/subscriptions', watcherToken);
    assert.equal(list.status, 200);
    assert.match(list.type ?? '', /application\/ld\+json/);
    const doc = JSON.parse(list.body);
    assert.equal(doc.type, 'Subscriptions');
    assert.ok(doc.subscriptions.some((s: { subscriber: string }) => s.subscriber === joined.subscriber));
    assert.equal(typeof doc.lastEventID, 'string');

    const one = await api(
      `/.well-known/mercure/subscriptions/${encodeURIComponent(FEED)}/${encodeURIComponent(joined.subscriber)}`,
      watcherToken,
    );
    assert.equal(one.status, 200);
    assert.deepEqual(JSON.parse(one.body).payload, { user: 'alice' });

    alice.close();
    await watcher.waitForUpdates(2);
    const left = JSON.parse(watcher.updates[1]!.data);
    assert.equal(left.subscriber, joined.subscriber);
    assert.equal(left.active, false);
    watcher.close();
  });

  test('subscription events are private: an anonymous * subscriber never sees them', async () => {
    const anon = await SseConnection.open(hubUrl(hub, '?topic=*'));
    await anon.live();
    const other = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(FEED)}`));
    await other.live();
    other.close();
    // A public update after the presence events proves the stream is flowing.
    const pub = await mintToken({ secret: TEST_KEY, publish: ['*'] });
    await fetch(hubUrl(hub), {
      method: 'POST',
      headers: { Authorization: `Bearer ${pub}` },
      body: new URLSearchParams({ topic: FEED, data: 'public' }),
    });
    await anon.waitForUpdates(1);
    assert.deepEqual(
      anon.updates.map((u) => u.data),
      ['public'],
    );
    anon.close();
  });

  test('the API refuses missing tokens (401), uncovered paths (403) and unknown subscribers (404)', async () => {
    assert.equal((await api('/.well-known/mercure/subscriptions')).status, 401);
    const feedOnly = await mintToken({ secret: TEST_KEY, subscribe: [FEED] });
    const forbidden = await api('/.well-known/mercure/subscriptions', feedOnly);
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.body, /does not cover/);
    const missing = await api(
      `/.well-known/mercure/subscriptions/${encodeURIComponent(FEED)}/urn%3Anobody`,
      watcherToken,
    );
    assert.equal(missing.status, 404);
  });
});
