import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningHerald } from '../src/start.ts';
import { SseConnection } from './support/sse-client.ts';
import { hubUrl, publishForm, publishJson, publisherToken, startTestHub } from './support/hub-fixture.ts';

const T = 'https://example.com/feed';

describe('history and resume', () => {
  let hub: RunningHerald;
  let pub: string;
  before(async () => {
    hub = await startTestHub({ anonymous: true, history: 50 });
    pub = await publisherToken();
  });
  after(() => hub.close());

  const publishN = async (prefix: string, n: number) => {
    const body = Array.from({ length: n }, (_, i) => ({
      topics: [T],
      data: `${prefix}${i}`,
      id: `${prefix}${i}`,
    }));
    const res = await publishJson(hub, body, pub);
    assert.equal(res.status, 200);
    return res.body.split('\n');
  };

  test('Last-Event-ID header replays what came after that id, in order, and echoes the cursor header', async () => {
    const ids = await publishN('h', 5);
    const c = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(T)}`), {
      'Last-Event-ID': ids[1]!,
    });
    await c.waitForUpdates(3);
    assert.deepEqual(
      c.updates.map((u) => u.id),
      ids.slice(2),
    );
    assert.equal(c.headers['last-event-id'], ids[1]);
    assert.equal(c.headers['mercure-last-event-id'], ids[1]);
    c.close();
  });

  test('the lastEventID query parameter works for the first connection; the header wins over it', async () => {
    const ids = await publishN('q', 4);
    const viaQuery = await SseConnection.open(
      hubUrl(hub, `?topic=${encodeURIComponent(T)}&lastEventID=${ids[2]}`),
    );
    await viaQuery.waitForUpdates(1);
    assert.deepEqual(
      viaQuery.updates.map((u) => u.id),
      [ids[3]],
    );
    const both = await SseConnection.open(
      hubUrl(hub, `?topic=${encodeURIComponent(T)}&lastEventID=${ids[2]}`),
      {
        'Last-Event-ID': ids[0]!,
      },
    );
    await both.waitForUpdates(3);
    assert.deepEqual(
      both.updates.map((u) => u.id),
      ids.slice(1),
    );
    viaQuery.close();
    both.close();
  });

  test('earliest replays everything retained, bounded by --history', async () => {
    await publishN('e', 60);
    const c = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(T)}&lastEventID=earliest`));
    await c.waitForUpdates(50);
    assert.equal(c.headers['last-event-id'], 'earliest');
    assert.equal(c.updates[0]!.id, 'e10', 'the 10 oldest were evicted');
    assert.equal(c.updates.at(-1)!.id, 'e59');
    c.close();
  });

  test('an evicted or unknown id is reported: cursor header "earliest" and an in-band herald.gap event', async () => {
    const c = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(T)}`), {
      'Last-Event-ID': 'e0',
    });
    await c.waitFor(() => c.events.some((e) => e.event === 'herald.gap'), 'gap event');
    assert.equal(c.headers['last-event-id'], 'earliest');
    const gap = c.events.find((e) => e.event === 'herald.gap')!;
    assert.equal(gap.id, undefined, 'hub events carry no id, so a browser keeps its cursor');
    assert.deepEqual(JSON.parse(gap.data), { lastEventId: 'e0', reason: 'unknown-or-expired' });
    await publishForm(
      hub,
      [
        ['topic', T],
        ['data', 'after-gap'],
      ],
      pub,
    );
    await c.waitForUpdates(1);
    assert.equal(c.updates[0]!.data, 'after-gap');
    c.close();
  });

  test('resuming while a publisher publishes in a tight loop: every id arrives exactly once, in order', async () => {
    const total = 400;
    const seen: string[] = [];
    let cursor: string | undefined;
    let done = false;
    const publisher = (async () => {
      for (let i = 0; i < total; i++) {
        const res = await publishForm(
          hub,
          [
            ['topic', `${T}/seam`],
            ['data', String(i)],
            ['id', `s-${i}`],
          ],
          pub,
        );
        assert.equal(res.status, 200);
      }
      done = true;
    })();
    // Reconnect repeatedly mid-stream: each connection reads a few updates, then drops.
    let reconnects = 0;
    while (seen.length < total) {
      const c = await SseConnection.open(
        hubUrl(hub, `?topic=${encodeURIComponent(`${T}/seam`)}`),
        cursor ? { 'Last-Event-ID': cursor } : {},
      );
      if (!cursor) await c.live();
      const want = Math.min(total, seen.length + 15 + (reconnects % 7));
      await c.waitFor(
        () => seen.length + c.updates.length >= want || (done && seen.length + c.updates.length >= total),
        'some updates',
      );
      c.close();
      for (const u of c.updates) seen.push(u.id!);
      cursor = seen.at(-1);
      reconnects++;
      assert.ok(reconnects < 200, 'bounded');
    }
    await publisher;
    assert.ok(reconnects > 5, `reconnected ${reconnects} times`);
    assert.deepEqual(
      seen,
      Array.from({ length: total }, (_, i) => `s-${i}`),
    );
  });
});
