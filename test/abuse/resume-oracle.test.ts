// Abuse class: resume answers as an existence oracle for private ids (issue 15, item 6). A
// subscriber who may not see a private update must get the same answer for its id as for an
// id that was never published, over SSE and WebSocket, with the memory and the Redis broker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { HeraldConfig } from '../../src/config/definitions.ts';
import type { RunningHerald } from '../../src/start.ts';
import {
  hubUrl,
  publishJson,
  publisherToken,
  startTestHub,
  subscriberToken,
} from '../support/hub-fixture.ts';
import { onEachBroker } from '../support/redis-server.ts';
import { SseConnection } from '../support/sse-client.ts';
import { WsProbe, type Msg } from '../support/ws-probe.ts';

const TOPIC = 'https://example.com/orders/1';

interface SseAnswer {
  status: number;
  lastEventId: string | undefined;
  events: { event: string; data: string }[];
}

function oracleScenario(name: string, config: () => Partial<HeraldConfig>): void {
  describe(`${name}: resuming from a private id looks like resuming from an unknown one`, () => {
    let hub: RunningHerald;
    let privateId: string;
    before(async () => {
      hub = await startTestHub({ anonymous: true, ...config() });
      const token = await publisherToken();
      privateId = `order-${name}-${Date.now()}`;
      const res = await publishJson(
        hub,
        { topics: TOPIC, data: 'secret', id: privateId, private: true },
        token,
      );
      assert.equal(res.status, 200, res.body);
      // A public update after it: a confirmed resume would replay it, an unknown one not.
      // A watcher sees it arrive, so it has come through the broker's live feed before any
      // resume below (with Redis it may arrive a moment after the publish is answered, and a
      // resume running meanwhile would receive it live).
      const watcher = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(TOPIC)}`));
      try {
        await watcher.live();
        const pub = await publishJson(hub, { topics: TOPIC, data: 'public' }, token);
        assert.equal(pub.status, 200, pub.body);
        await watcher.waitForUpdates(1);
      } finally {
        watcher.close();
      }
    });
    after(() => hub.close());

    /** The first answer of a resume: status, echoed id and the events before the marker. */
    async function resumeSse(lastEventId: string, token?: string): Promise<SseAnswer> {
      const headers: Record<string, string> = { 'Last-Event-ID': lastEventId };
      if (token) headers['Authorization'] = `Bearer ${token}`;
      const c = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(TOPIC)}`), headers);
      try {
        await c.live();
        // Events sent before going live (gap notices, replay) are all in by the first comment.
        const header = c.headers['last-event-id'];
        return {
          status: c.status,
          lastEventId: Array.isArray(header) ? header[0] : header,
          events: c.events.map((e) => ({ event: e.event, data: e.event === 'herald.gap' ? '' : e.data })),
        };
      } finally {
        c.close();
      }
    }

    async function resumeWs(lastEventId: string): Promise<Msg[]> {
      const c = new WsProbe(`ws://127.0.0.1:${hub.port}${hub.config.path}/ws`);
      await c.opened;
      c.send({ op: 'subscribe', topics: [TOPIC], lastEventId, ref: 1 });
      const ack = await c.op('subscribed');
      // An op answered after the ack: everything the resume sent is in by then.
      c.send({ op: 'unsubscribe', topics: ['https://example.com/not-subscribed'], ref: 2 });
      await c.op('unsubscribed');
      const rest = c.messages.map((m) => (m['op'] === 'event' ? { op: 'event', type: m['type'] } : m));
      await c.close();
      delete ack['subscriber'];
      return [ack, ...rest];
    }

    test('over SSE an anonymous subscriber gets the same answer for both', async () => {
      const unknown = await resumeSse('never-published-id');
      const hidden = await resumeSse(privateId);
      assert.equal(unknown.lastEventId, 'earliest');
      assert.deepEqual(hidden, unknown);
      assert.ok(!JSON.stringify(hidden).includes(privateId));
    });

    test('over WebSocket an anonymous subscriber gets the same answer for both', async () => {
      const unknown = await resumeWs('never-published-id');
      const hidden = await resumeWs(privateId);
      // The gap notice names the id the client sent, so compare it with that part masked.
      const mask = (ms: Msg[], id: string) =>
        JSON.parse(JSON.stringify(ms).replaceAll(id, '<sent>')) as Msg[];
      assert.deepEqual(mask(hidden, privateId), mask(unknown, 'never-published-id'));
      assert.equal(unknown[0]!['lastEventId'], 'earliest');
    });

    test('a subscriber allowed to see the private update resumes from it as before', async () => {
      const allowed = await resumeSse(privateId, await subscriberToken([TOPIC]));
      assert.equal(allowed.lastEventId, privateId);
      assert.deepEqual(
        allowed.events.map((e) => e.data),
        ['public'],
      );
    });
  });
}

onEachBroker(oracleScenario);
