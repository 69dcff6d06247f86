import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionStatus } from '../client/subscribe.ts';
import type { HeraldUpdate } from '../client/transport.ts';
import type { WebSocketCtor, WebSocketLike } from '../client/ws.ts';
import { ConnectionRegistry, type TopicListener } from './registry.ts';

/**
 * A WebSocket played by the test: it records the frames the client sends and lets the test
 * answer as the hub would. The registry's own seam (settings.WebSocket), not a hub stand-in.
 */
class ScriptedSocket implements WebSocketLike {
  static opened: ScriptedSocket[] = [];
  readyState = 0;
  readonly url: string;
  readonly frames: Record<string, unknown>[] = [];
  onopen: ((ev: never) => unknown) | null = null;
  onmessage: ((ev: { data: unknown }) => unknown) | null = null;
  onclose: ((ev: { code: number; reason: string }) => unknown) | null = null;
  onerror: ((ev: never) => unknown) | null = null;
  constructor(url: string) {
    this.url = url;
    ScriptedSocket.opened.push(this);
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.(undefined as never);
    });
  }
  send(data: string): void {
    const frame = JSON.parse(data) as Record<string, unknown>;
    this.frames.push(frame);
    // Acknowledge every subscribe as the hub does.
    if (frame['op'] === 'subscribe')
      this.hub({ op: 'subscribed', subscriber: 's', topics: frame['topics'], ref: frame['ref'] });
  }
  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code: 1000, reason: '' }));
  }
  hub(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}
const WS = ScriptedSocket as unknown as WebSocketCtor;

function listener() {
  const updates: HeraldUpdate[] = [];
  const statuses: ConnectionStatus[] = [];
  const l: TopicListener = { update: (u) => updates.push(u), status: (s) => statuses.push(s) };
  return { l, updates, statuses };
}

const settled = () => new Promise<void>((r) => setTimeout(r, 0));

test('listeners on one hub share one WebSocket; each gets only the updates its topics match', async () => {
  ScriptedSocket.opened = [];
  const registry = new ConnectionRegistry();
  const settings = { url: 'http://hub/.well-known/mercure', WebSocket: WS, transport: 'ws' as const };
  const a = listener();
  const b = listener();
  const stopA = registry.listen(settings, ['/books/{id}'], a.l);
  const stopB = registry.listen(settings, ['/authors/1', '/books/{id}'], b.l);
  await settled();
  assert.equal(ScriptedSocket.opened.length, 1, 'one socket for both');
  const socket = ScriptedSocket.opened[0]!;
  assert.equal(socket.url, 'ws://hub/.well-known/mercure/ws');
  const subscribed = socket.frames
    .filter((f) => f['op'] === 'subscribe')
    .flatMap((f) => f['topics'] as string[]);
  assert.deepEqual([...new Set(subscribed)].sort(), ['/authors/1', '/books/{id}']);
  assert.equal(registry.summary, 'connected');
  assert.equal(registry.size, 1);

  socket.hub({ id: '1', topics: ['/books/7'], data: 'book' });
  socket.hub({ id: '2', topics: ['/authors/1'], data: 'author' });
  assert.deepEqual(
    a.updates.map((u) => u.data),
    ['book'],
  );
  assert.deepEqual(
    b.updates.map((u) => u.data),
    ['book', 'author'],
  );

  stopB();
  await settled();
  assert.deepEqual(
    socket.frames.at(-1),
    { op: 'unsubscribe', topics: ['/authors/1'] },
    'the topic only B held goes',
  );
  assert.equal(socket.readyState, 1, 'A still listens');
  stopA();
  await settled();
  assert.equal(socket.readyState, 3, 'closed once nobody listens');
  assert.equal(registry.summary, 'offline');
  assert.equal(registry.size, 0);
});
