import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { mintToken } from '../src/auth/mint.ts';
import {
  createPublisher,
  subscribe,
  HeraldClientError,
  type ConnectionStatus,
  type HeraldUpdate,
  type SubscribeOptions,
  type WebSocketCtor,
} from '../src/client/index.ts';
import { eventually } from './support/wait.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';

const SECRET = 'client-test-secret-0123456789abcdef';
const WS = WebSocket as unknown as WebSocketCtor;

/** Records a subscription's callbacks and lets a test wait for a condition on them. */
function recorder() {
  const updates: HeraldUpdate[] = [];
  const statuses: [ConnectionStatus, HeraldClientError | undefined][] = [];
  const events: [string, unknown][] = [];
  const gaps: unknown[] = [];
  let check: () => void = () => {};
  const until = (pred: () => boolean, what: string, ms = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
      check = () => {
        if (pred()) {
          clearTimeout(timer);
          check = () => {};
          resolve();
        }
      };
      check();
    });
  const options: Pick<SubscribeOptions, 'onUpdate' | 'onStatus' | 'onEvent' | 'onGap'> = {
    onUpdate: (u) => {
      updates.push(u);
      check();
    },
    onStatus: (s, e) => {
      statuses.push([s, e]);
      check();
    },
    onEvent: (t, d) => {
      events.push([t, d]);
      check();
    },
    onGap: (info) => {
      gaps.push(info);
      check();
    },
  };
  return { updates, statuses, events, gaps, until, options };
}

describe('subscribe against a real hub', () => {
  let h: RunningHerald;
  let url: string;
  let pub: string;
  let subToken: string;

  before(async () => {
    h = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: SECRET, logLevel: 'silent' });
    url = `${h.url}/.well-known/mercure`;
    pub = await mintToken({ secret: SECRET, publish: ['*'] });
    subToken = await mintToken({ secret: SECRET, subscribe: ['*'] });
  });
  after(() => h.close());

  for (const transport of ['sse', 'ws'] as const) {
    test(`${transport}: a refused token stops with status closed and the hub's reason, without retrying`, async () => {
      const r = recorder();
      let tokenCalls = 0;
      const sub = subscribe({
        url,
        topics: ['https://ex.com/a'],
        getToken: () => {
          tokenCalls++;
          return 'bad.token.here';
        },
        transport,
        WebSocket: WS,
        backoff: { initialMs: 1, maxMs: 2 },
        ...r.options,
      });
      await r.until(() => sub.status === 'closed', 'closed');
      assert.equal(sub.error?.status, 401);
      assert.equal(sub.error?.code, 'HERALD_ERR_UNAUTHORIZED');
      assert.match(sub.error!.message, /token is malformed/);
      assert.equal(tokenCalls, 1, 'no retry loop');
    });

    test(`${transport}: a bad selector stops with a 400 naming it`, async () => {
      const r = recorder();
      const sub = subscribe({
        url,
        topics: ['https://ex.com/{'],
        token: subToken,
        transport,
        WebSocket: WS,
        ...r.options,
      });
      await r.until(() => sub.status === 'closed', 'closed');
      assert.equal(sub.error?.status, 400);
      assert.equal(sub.error?.code, 'HERALD_ERR_BAD_SELECTOR');
    });

    test(`${transport}: an unknown lastEventId calls onGap, then updates flow`, async () => {
      const r = recorder();
      const sub = subscribe({
        url,
        topics: ['https://ex.com/gap'],
        token: subToken,
        lastEventId: 'nobody-knows-me',
        transport,
        WebSocket: WS,
        ...r.options,
      });
      await r.until(() => r.gaps.length === 1 && sub.status === 'open', 'gap');
      assert.deepEqual(r.gaps[0], { lastEventId: 'nobody-knows-me', reason: 'unknown-or-expired' });
      const publisher = createPublisher({ url, token: pub });
      const id = await publisher.publish('https://ex.com/gap', 'after gap', { type: 'note' });
      await r.until(() => r.updates.length === 1, 'update');
      assert.equal(r.updates[0]!.id, id);
      assert.equal(r.updates[0]!.type, 'note');
      assert.equal(r.updates[0]!.data, 'after gap');
      assert.deepEqual(r.updates[0]!.topics, transport === 'ws' ? ['https://ex.com/gap'] : undefined);
      sub.close();
    });

    test(`${transport}: an expired token triggers a reconnect with a fresh one from getToken, resuming`, async () => {
      const r = recorder();
      const tokens: string[] = [];
      const sub = subscribe({
        url,
        topics: ['https://ex.com/exp'],
        getToken: async () => {
          const t = await mintToken({
            secret: SECRET,
            subscribe: ['*'],
            ttl: tokens.length === 0 ? '3s' : '1h',
          });
          tokens.push(t);
          return t;
        },
        transport,
        WebSocket: WS,
        ...r.options,
      });
      await r.until(() => sub.status === 'open', 'open');
      const publisher = createPublisher({ url, token: pub });
      await publisher.publish('https://ex.com/exp', 'one');
      await r.until(() => r.events.some(([t]) => t === 'herald.token-expired'), 'expiry', 10_000);
      await r.until(() => tokens.length === 2 && sub.status === 'open', 'reopened with a fresh token');
      await publisher.publish('https://ex.com/exp', 'two');
      await r.until(() => r.updates.length === 2, 'second update');
      assert.deepEqual(
        r.updates.map((u) => u.data),
        ['one', 'two'],
      );
      sub.close();
    });

    test(`${transport}: topics can be changed on a live subscription`, async () => {
      const r = recorder();
      const sub = subscribe({
        url,
        topics: ['https://ex.com/t1'],
        token: subToken,
        transport,
        WebSocket: WS,
        ...r.options,
      });
      await r.until(() => sub.status === 'open', 'open');
      const publisher = createPublisher({ url, token: pub });
      await publisher.publish('https://ex.com/t1', 'a');
      await r.until(() => r.updates.length === 1, 'a');
      sub.setTopics(['https://ex.com/t2']);
      // The change is live once the hub holds t2 and no longer t1 for this client (the only
      // subscription listening to either).
      const live = (): boolean => {
        const held = [...h.hub.subscriptions()].flatMap((s) => s.selectors.map((sel) => sel.source));
        return held.includes('https://ex.com/t2') && !held.includes('https://ex.com/t1');
      };
      await eventually(live, 'the hub to swap t1 for t2');
      // Published in this order on one hub: an `old` update would arrive before `b`.
      await publisher.publish('https://ex.com/t1', 'old');
      await publisher.publish('https://ex.com/t2', 'b');
      await r.until(() => r.updates.some((u) => u.data === 'b'), 'the update on the new topic');
      assert.equal(
        r.updates.filter((u) => u.data.startsWith('old')).length,
        0,
        'removed topic no longer delivered',
      );
      sub.close();
    });
  }

  test('auto picks WebSocket when one is available, SSE otherwise', async () => {
    const r = recorder();
    const a = subscribe({ url, topics: ['https://ex.com/a'], token: subToken, WebSocket: WS, ...r.options });
    const b = subscribe({ url, topics: ['https://ex.com/a'], token: subToken, ...r.options });
    assert.equal(a.transport, 'ws');
    assert.equal(b.transport, typeof globalThis.WebSocket === 'function' ? 'ws' : 'sse');
    a.close();
    b.close();
  });
});

describe('auto transport falls back to SSE when WebSockets are blocked', () => {
  test('an upgrade refused twice switches the subscription to SSE', async () => {
    const h = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: SECRET, logLevel: 'silent' });
    // A proxy that does not do WebSockets: every upgrade is dropped.
    h.server.removeAllListeners('upgrade');
    h.server.on('upgrade', (_req, socket) => socket.destroy());
    try {
      const r = recorder();
      const sub = subscribe({
        url: `${h.url}/.well-known/mercure`,
        topics: ['https://ex.com/a'],
        token: await mintToken({ secret: SECRET, subscribe: ['*'] }),
        WebSocket: WS,
        backoff: { initialMs: 5, maxMs: 10 },
        ...r.options,
      });
      await r.until(() => sub.status === 'open', 'open over sse');
      assert.equal(sub.transport, 'sse');
      sub.close();
    } finally {
      await h.close();
    }
  });
});

describe('reconnect honours the hub', () => {
  test('a 503 with Retry-After and an SSE retry: field set the reconnect delay; a 403 stops', async () => {
    const seen: { at: number; lastEventId: string | undefined }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      seen.push({ at: Date.now(), lastEventId: req.headers['last-event-id'] as string | undefined });
      if (seen.length === 1) {
        res.writeHead(503, { 'Retry-After': '1', 'X-Herald-Error': 'HERALD_ERR_BROKER_UNAVAILABLE' });
        res.end('broker down\n');
      } else if (seen.length === 2) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end('retry: 300\nid: e1\ndata: hello\n\n');
      } else {
        res.writeHead(403, { 'X-Herald-Error': 'HERALD_ERR_FORBIDDEN_TOPIC' });
        res.end('not for you\n');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const r = recorder();
    const sub = subscribe({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hub`,
      topics: ['t'],
      transport: 'sse',
      backoff: { initialMs: 1, maxMs: 1, random: () => 0.999 },
      ...r.options,
    });
    try {
      await r.until(() => sub.status === 'closed', 'closed', 8000);
      assert.equal(seen.length, 3);
      assert.ok(seen[1]!.at - seen[0]!.at >= 950, 'waited for Retry-After');
      assert.ok(seen[2]!.at - seen[1]!.at >= 250, 'waited for retry:');
      assert.equal(seen[2]!.lastEventId, 'e1', 'resumed from the last id');
      assert.equal(sub.error?.status, 403);
      assert.equal(sub.error?.code, 'HERALD_ERR_FORBIDDEN_TOPIC');
      assert.match(sub.error!.message, /not for you/);
      assert.equal(r.updates.length, 1);
    } finally {
      sub.close();
      server.close();
    }
  });
});

describe('idle timeout', () => {
  test('a stream that goes silent is dropped and reopened; one kept alive by heartbeats is not', async () => {
    let requests = 0;
    const timers = new Set<ReturnType<typeof setInterval>>();
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(':\n\n');
      if (requests === 1) return; // then silence, connection left open
      // Heartbeats every 40 ms, well inside the 250 ms limit, for about 600 ms; then an update.
      let beats = 0;
      const timer = setInterval(() => {
        if (++beats < 15) res.write(':\n\n');
        else {
          clearInterval(timer);
          res.write('id: after-heartbeats\ndata: still here\n\n');
        }
      }, 40);
      timers.add(timer);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const r = recorder();
    const sub = subscribe({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hub`,
      topics: ['t'],
      transport: 'sse',
      idleTimeoutMs: 250,
      backoff: { initialMs: 1, maxMs: 1 },
      ...r.options,
    });
    try {
      await r.until(() => r.updates.length === 1, 'the update after the heartbeats', 5000);
      assert.equal(requests, 2, 'heartbeats kept the second stream open');
      const reconnect = r.statuses.find(([s]) => s === 'reconnecting');
      assert.match(reconnect?.[1]?.message ?? '', /no data from the hub for 250 ms/);
      assert.equal(reconnect?.[1]?.retryable, true);
      assert.equal(sub.status, 'open');
    } finally {
      sub.close();
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('publisher', () => {
  test('many calls in one tick go out as one batch request and resolve with their ids', async () => {
    const h = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: SECRET, logLevel: 'silent' });
    let posts = 0;
    h.server.prependListener('request', (req: IncomingMessage) => {
      if (req.method === 'POST') posts++;
    });
    try {
      const publisher = createPublisher({
        url: `${h.url}/.well-known/mercure`,
        token: await mintToken({ secret: SECRET, publish: ['*'] }),
      });
      const ids = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          publisher.publish('https://ex.com/b', `n${i}`, { id: `b-${i}` }),
        ),
      );
      assert.deepEqual(
        ids,
        Array.from({ length: 50 }, (_, i) => `b-${i}`),
      );
      assert.equal(posts, 1);
      const page = await h.hub.broker.historyAfter('earliest', 100);
      assert.deepEqual(
        page.updates.map((u) => u.data),
        Array.from({ length: 50 }, (_, i) => `n${i}`),
      );
    } finally {
      await h.close();
    }
  });

  test('a bad update fails alone with the hub reason; its batch mates are published', async () => {
    const h = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: SECRET, logLevel: 'silent' });
    try {
      const publisher = createPublisher({
        url: `${h.url}/.well-known/mercure`,
        token: await mintToken({ secret: SECRET, publish: ['https://ex.com/ok/{x}'] }),
      });
      const results = await Promise.allSettled([
        publisher.publish('https://ex.com/ok/1', 'fine'),
        publisher.publish('https://ex.com/other', 'forbidden'),
        publisher.publish('https://ex.com/ok/2', 'bad type', { type: 'herald.x' }),
        publisher.publish('https://ex.com/ok/3', 'fine too'),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
      );
      const forbidden = (results[1] as PromiseRejectedResult).reason as HeraldClientError;
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.code, 'HERALD_ERR_FORBIDDEN_TOPIC');
      assert.match(
        forbidden.message,
        /publish refused \(403\): token may not publish to topic "https:\/\/ex.com\/other"/,
      );
      assert.equal(
        ((results[2] as PromiseRejectedResult).reason as HeraldClientError).code,
        'HERALD_ERR_BAD_TYPE',
      );
    } finally {
      await h.close();
    }
  });

  test('a 401 is not retried and says why; a dead hub fails after the retries with the cause', async () => {
    const h = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: SECRET, logLevel: 'silent' });
    const url = `${h.url}/.well-known/mercure`;
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const publisher = createPublisher({ url, token: 'nope', fetch: counting });
    await assert.rejects(publisher.publish('https://ex.com/a', 'x'), (e: HeraldClientError) => {
      assert.equal(e.status, 401);
      assert.match(e.message, /token is malformed/);
      return true;
    });
    assert.equal(calls, 1);
    await h.close();
    calls = 0;
    const retrying = createPublisher({
      url,
      token: 'x',
      fetch: counting,
      retries: 3,
      backoff: { initialMs: 1, maxMs: 2 },
    });
    await assert.rejects(retrying.publish('https://ex.com/a', 'x'), (e: HeraldClientError) => {
      assert.equal(e.status, 0);
      assert.match(e.message, /cannot reach the hub .*ECONNREFUSED/);
      return true;
    });
    assert.equal(calls, 3);
    await retrying.close();
    await assert.rejects(retrying.publish('https://ex.com/a', 'x'), /publisher is closed/);
  });
});
