import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { mintToken } from '../src/auth/mint.ts';
import type { Broker, HealthReporting } from '../src/broker/broker.ts';
import { MemoryBroker } from '../src/broker/memory.ts';
import {
  createPublisher,
  subscribe,
  type ConnectionStatus,
  type WebSocketCtor,
} from '../src/client/index.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';

const SECRET = 'client-resume-secret-0123456789abcdef';
const TOPIC = 'https://ex.com/stream';

/** A memory broker that survives the hub closing it, as Redis would survive a node crash. */
function durableBroker(): Broker & HealthReporting {
  const inner = new MemoryBroker({ historySize: 10_000, historyTtlMs: 0 });
  return {
    kind: 'memory',
    start: (onUpdate) => inner.start(onUpdate),
    publish: (inputs) => inner.publish(inputs),
    historyAfter: (id, limit) => inner.historyAfter(id, limit),
    health: () => inner.health(),
    close: async () => {},
  };
}

/** Starts a hub whose sockets the test can cut at once, like a crash. */
async function startNode(broker: Broker, port = 0): Promise<{ h: RunningHerald; kill(): Promise<void> }> {
  const h = await startHerald({ port, host: '127.0.0.1', jwtKey: SECRET, logLevel: 'silent' }, undefined, {
    broker,
  });
  const sockets = new Set<Socket>();
  h.server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    h,
    async kill() {
      for (const s of sockets) s.destroy();
      await h.close();
    },
  };
}

/** Resolves when `pred` holds, checked on every call of the returned `poke`. */
function waiter<T>(pred: () => T | undefined, what: string, ms = 10_000) {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  const poke = (): void => {
    const v = pred();
    if (v !== undefined) {
      clearTimeout(timer);
      resolve(v);
    }
  };
  return { promise, poke };
}

for (const transport of ['sse', 'ws'] as const) {
  describe(`client over ${transport}`, () => {
    test('after the hub is killed mid-stream and restarted on the same port, every id arrives exactly once', async () => {
      const broker = durableBroker();
      const a = await startNode(broker);
      const url = `http://127.0.0.1:${a.h.port}/.well-known/mercure`;
      const subToken = await mintToken({ secret: SECRET, subscribe: ['*'] });
      const pubToken = await mintToken({ secret: SECRET, publish: ['*'] });
      const received: string[] = [];
      const statuses: ConnectionStatus[] = [];
      let want = 0;
      const arrived = { poke: () => {} };
      const sub = subscribe({
        url,
        topics: [TOPIC],
        token: subToken,
        transport,
        WebSocket: WebSocket as unknown as WebSocketCtor,
        backoff: { initialMs: 20, maxMs: 200 },
        onUpdate: (u) => {
          received.push(u.id);
          arrived.poke();
        },
        onStatus: (s) => {
          statuses.push(s);
          arrived.poke();
        },
      });
      const opened = waiter(() => (sub.status === 'open' ? true : undefined), 'first open');
      arrived.poke = opened.poke;
      await opened.promise;

      const publisher = createPublisher({
        url,
        token: pubToken,
        retries: 200,
        backoff: { initialMs: 10, maxMs: 100 },
      });
      const publishRange = (from: number, to: number) =>
        Promise.all(
          Array.from({ length: to - from + 1 }, (_, i) =>
            publisher.publish(TOPIC, { n: from + i }, { id: `id-${from + i}` }),
          ),
        );

      const firstHalf = waiter(() => (received.length >= 10 ? true : undefined), '10 updates');
      arrived.poke = firstHalf.poke;
      await publishRange(1, 40);
      await firstHalf.promise;
      await a.kill();

      // Published while no hub is up: the publisher keeps retrying until the new node listens.
      const secondHalf = publishRange(41, 80);
      const b = await startNode(broker, a.h.port);
      try {
        want = 80;
        const all = waiter(() => (received.length >= want ? true : undefined), 'all 80 ids');
        arrived.poke = all.poke;
        all.poke();
        const ids = await secondHalf;
        assert.deepEqual(
          ids,
          Array.from({ length: 40 }, (_, i) => `id-${41 + i}`),
        );
        await all.promise;
        // One more update as a barrier: anything repeated would have arrived before it.
        const [last] = await Promise.all([publisher.publish(TOPIC, 'end', { id: 'id-end' })]);
        assert.equal(last, 'id-end');
        const end = waiter(() => (received.includes('id-end') ? true : undefined), 'barrier');
        arrived.poke = end.poke;
        end.poke();
        await end.promise;
        assert.deepEqual(received, [...Array.from({ length: 80 }, (_, i) => `id-${i + 1}`), 'id-end']);
        assert.ok(statuses.includes('reconnecting'), `statuses: ${statuses.join(',')}`);
        assert.equal(sub.status, 'open');
        assert.equal(sub.lastEventId, 'id-end');
        assert.equal(sub.transport, transport);
      } finally {
        sub.close();
        await publisher.close();
        await b.h.close();
      }
      assert.equal(sub.status, 'closed');
    });
  });
}
