import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory.ts';
import { subscribe, type HeraldUpdate } from '../../src/client/index.ts';
import { ANONYMOUS } from '../../src/auth/principal.ts';
import { Hub } from '../../src/hub/hub.ts';
import type { Sink } from '../../src/hub/sink.ts';
import type { RunningHerald } from '../../src/start.ts';
import { hubUrl, publishJson, publisherToken, startTestHub } from '../support/hub-fixture.ts';
import { SseConnection } from '../support/sse-client.ts';
import { eventually } from '../support/wait.ts';

const T = 'https://example.com/orders';
/** An id a publisher may choose: outside Latin-1, so not a valid header value as it is. */
const ID = 'заказ-1';
/** How a browser sends the id in Last-Event-ID: its UTF-8 bytes. */
const asHeader = (id: string): string => Buffer.from(id, 'utf8').toString('latin1');
/** How the hub answers with it: percent-encoded UTF-8, ASCII only. */
const fromHeader = (value: string | string[] | undefined): string => {
  assert.match(String(value), /^[\x20-\x7e]+$/);
  return decodeURIComponent(String(value));
};

describe('resuming from an id outside Latin-1', () => {
  let hub: RunningHerald;
  let pub: string;
  before(async () => {
    hub = await startTestHub({ anonymous: true, maxConnections: 3 });
    pub = await publisherToken();
    const res = await publishJson(
      hub,
      [
        { topics: [T], data: 'first', id: ID },
        { topics: [T], data: 'second', id: 'заказ-2' },
      ],
      pub,
    );
    assert.equal(res.status, 200, res.body);
  });
  after(() => hub.close());

  test('more resumes than the connection cap all succeed, with the id echoed percent-encoded, and leave no slot behind', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await SseConnection.open(
        hubUrl(hub, `?topic=${encodeURIComponent(T)}&lastEventID=${encodeURIComponent(ID)}`),
      );
      assert.equal(c.status, 200, c.body);
      await c.waitForUpdates(1);
      assert.deepEqual(
        c.updates.map((u) => u.data),
        ['second'],
      );
      assert.equal(fromHeader(c.headers['last-event-id']), ID);
      assert.equal(fromHeader(c.headers['mercure-last-event-id']), ID);
      c.close();
      await eventually(() => hub.hub.connectionCount === 0, 'the subscription to be released');
    }
    assert.equal(hub.hub.admittedCount, 0);
  });

  test('a Last-Event-ID header carrying the id as UTF-8 bytes (as a browser sends it) resumes from that id', async () => {
    const c = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(T)}`), {
      'Last-Event-ID': asHeader(ID),
    });
    assert.equal(c.status, 200, c.body);
    await c.waitForUpdates(1);
    assert.deepEqual(
      c.updates.map((u) => u.data),
      ['second'],
    );
    assert.ok(!c.events.some((e) => e.event === 'herald.gap'), 'the id was found, not a gap');
    c.close();
  });

  test('the client SDK resumes over SSE from such an id (fetch refuses it as a header value)', async () => {
    const updates: HeraldUpdate[] = [];
    const gaps: unknown[] = [];
    let notify = (): void => {};
    const got = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no replay: ${JSON.stringify(updates)}`)), 5000);
      notify = () => {
        if (updates.length > 0) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    const sub = subscribe({
      url: hubUrl(hub),
      topics: [T],
      lastEventId: ID,
      transport: 'sse',
      onUpdate: (u) => {
        updates.push(u);
        notify();
      },
      onGap: (g) => gaps.push(g),
    });
    try {
      await got;
      assert.deepEqual(
        updates.map((u) => u.data),
        ['second'],
      );
      assert.deepEqual(gaps, []);
    } finally {
      sub.close();
    }
  });
});

describe('opening a subscription is all-or-nothing', () => {
  test('a sink that fails while opening leaves no subscription, no slot and no pending queue', async () => {
    const hub = new Hub({
      broker: new MemoryBroker({ historySize: 10, historyTtlMs: 0 }),
      connectionLimits: { maxConnections: 1 },
    });
    await hub.start();
    try {
      const failing = (): Sink => ({
        transport: 'sse',
        open() {
          throw new TypeError('header value cannot be encoded');
        },
        send: () => true,
        notice: () => true,
        close() {},
      });
      for (const lastEventId of [undefined, 'earliest']) {
        await assert.rejects(
          hub.subscribe({
            selectors: [T],
            principal: ANONYMOUS,
            sink: failing(),
            ...(lastEventId ? { lastEventId } : {}),
          }),
          /header value cannot be encoded/,
        );
        assert.equal(hub.connectionCount, 0);
        assert.equal(hub.admittedCount, 0);
      }
    } finally {
      await hub.close();
    }
  });
});
