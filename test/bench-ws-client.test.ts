// The bench's raw-socket WebSocket client (bench/loadgen/ws-net-client.ts) against a real hub:
// if it misread the hub's frames, the WebSocket scenarios would measure nothing.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { WsNetSubscriber } from '../bench/loadgen/ws-net-client.ts';
import type { Subscriber, SubscriberSink } from '../bench/loadgen/subscriber.ts';
import type { RunningHerald } from '../src/start.ts';
import { publishForm, publisherToken, startTestHub } from './support/hub-fixture.ts';

const TOPIC = 'https://bench.test/ws';

/** A sink that queues what the client reports, so the test awaits events instead of sleeping. */
class Recorder implements SubscriberSink {
  readonly messages: string[] = [];
  bytes = 0;
  errors: string[] = [];
  #waiters: Array<{ check: () => boolean; resolve: () => void }> = [];
  onLive(): void {
    this.#wake();
  }
  onMessage(_sub: Subscriber, data: string): void {
    this.messages.push(data);
    this.#wake();
  }
  onError(_sub: Subscriber, reason: string): void {
    this.errors.push(reason);
    this.#wake();
  }
  onClosed(): void {}
  onBytes(n: number): void {
    this.bytes += n;
  }
  until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; errors: ${this.errors.join(', ')}`)), timeoutMs);
      this.#waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
  #wake(): void {
    this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }
}

describe('bench WebSocket load-generator client', () => {
  let hub: RunningHerald;
  let token: string;
  before(async () => {
    hub = await startTestHub({ anonymous: true });
    token = await publisherToken();
  });
  after(() => hub.close());

  test('subscribes to a real hub, reads updates and resumes after a drop without loss or duplicate', async () => {
    const rec = new Recorder();
    const node = { host: '127.0.0.1', port: hub.port };
    const sub = new WsNetSubscriber(node, `${hub.config.path}/ws`, TOPIC, '127.0.0.1', rec, { deflate: false });
    sub.connect(false);
    await rec.until(() => sub.live, 'subscribed');
    const first = await publishForm(hub, [['topic', TOPIC], ['data', 's=1 t=1 p=xx']], token);
    assert.equal(first.status, 200);
    await rec.until(() => rec.messages.length === 1, 'first update');
    assert.match(rec.messages[0] ?? '', /^s=1 t=1 p=xx/);
    assert.equal(sub.lastId, first.body);
    assert.ok(rec.bytes > 0, 'bytes on the wire are counted');

    sub.close();
    const missed = await publishForm(hub, [['topic', TOPIC], ['data', 's=2 t=2 p=yy']], token);
    assert.equal(missed.status, 200);
    sub.connect(true);
    await rec.until(() => rec.messages.length === 2, 'replayed update');
    assert.match(rec.messages[1] ?? '', /^s=2 t=2 p=yy/);
    assert.equal(sub.lastId, missed.body);
    assert.equal(sub.deflated, false, 'the hub did not negotiate compression');
    assert.deepEqual(rec.errors, []);
    sub.close();
  });

  test('inflates permessage-deflate messages when a server accepts the offer without context takeover', async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 },
    });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const data = `s=7 t=7 p=${'a'.repeat(2_000)}`;
    wss.on('connection', (ws) => {
      ws.once('message', () => {
        ws.send(JSON.stringify({ op: 'subscribed', subscriber: 'x', topics: [TOPIC] }));
        // Twice: each message must inflate on its own.
        for (let i = 0; i < 2; i++) ws.send(JSON.stringify({ id: `id${i}`, topics: [TOPIC], data }));
      });
    });
    try {
      const rec = new Recorder();
      const port = (wss.address() as AddressInfo).port;
      const sub = new WsNetSubscriber({ host: '127.0.0.1', port }, '/', TOPIC, '127.0.0.1', rec, { deflate: true });
      sub.connect(false);
      await rec.until(() => rec.messages.length === 2, 'two compressed updates');
      assert.equal(sub.deflated, true);
      assert.equal(sub.lastId, 'id1');
      for (const m of rec.messages) assert.ok(m.startsWith(data), 'inflated payload intact');
      assert.ok(rec.bytes < data.length, `compressed on the wire (${rec.bytes} bytes for two ${data.length}-byte payloads)`);
      sub.close();
    } finally {
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });
});
