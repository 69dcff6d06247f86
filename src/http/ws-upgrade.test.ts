import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../auth/mint.ts';
import { startHerald, type RunningHerald } from '../start.ts';
import { WsProbe } from '../../test/support/ws-probe.ts';

const SECRET = 'ws-test-secret-ws-test-secret-123';
const WS_PATH = '/.well-known/mercure/ws';

async function publish(h: RunningHerald, token: string, body: unknown): Promise<string[]> {
  const res = await fetch(`${h.url}/.well-known/mercure`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.text()).split('\n');
}

describe('WebSocket endpoint', () => {
  let h: RunningHerald;
  let wsUrl: string;
  let pub: string;
  let sub: string;

  before(async () => {
    h = await startHerald({
      port: 0,
      host: '127.0.0.1',
      jwtKey: SECRET,
      logLevel: 'silent',
      corsOrigins: ['http://allowed.example'],
    });
    wsUrl = `ws://127.0.0.1:${h.port}${WS_PATH}`;
    pub = await mintToken({ secret: SECRET, publish: ['*'] });
    sub = await mintToken({ secret: SECRET, subscribe: ['https://ex.com/private/{id}'] });
  });
  after(() => h.close());

  test('a subscriber gets an ack, then each update as one JSON frame', async () => {
    const c = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    await c.opened;
    c.send({ op: 'subscribe', topics: ['https://ex.com/a'], ref: 1 });
    const ack = await c.op('subscribed');
    assert.deepEqual(ack['topics'], ['https://ex.com/a']);
    assert.equal(ack['ref'], 1);
    assert.equal(typeof ack['subscriber'], 'string');
    const [id] = await publish(h, pub, {
      topics: ['https://ex.com/a'],
      data: 'hello\nworld',
      type: 'greeting',
    });
    const u = await c.update();
    assert.deepEqual(u, { id, topics: ['https://ex.com/a'], type: 'greeting', data: 'hello\nworld' });
    await c.close();
  });

  test('topics can be added and removed on one connection, and an update is sent once', async () => {
    const c = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    await c.opened;
    c.send({ op: 'subscribe', topics: ['https://ex.com/x'] });
    await c.op('subscribed');
    await publish(h, pub, [
      { topics: ['https://ex.com/y'], data: 'not yet' },
      { topics: ['https://ex.com/x'], data: 'x1' },
    ]);
    assert.equal((await c.update())['data'], 'x1');

    c.send({ op: 'subscribe', topics: ['https://ex.com/{name}', 'https://ex.com/x'] });
    const ack = await c.op('subscribed');
    assert.deepEqual(
      ack['topics'],
      ['https://ex.com/{name}'],
      'an already subscribed selector is not added twice',
    );
    await publish(h, pub, { topics: ['https://ex.com/x', 'https://ex.com/y'], data: 'both' });
    await publish(h, pub, { topics: ['https://ex.com/marker'], data: 'marker' });
    await c.next((m) => m['data'] === 'marker');
    assert.deepEqual(
      c.pendingUpdates().map((m) => m['data']),
      ['both'],
      'matched by two selectors, delivered once',
    );
    c.messages.length = 0;

    c.send({ op: 'unsubscribe', topics: ['https://ex.com/{name}', 'https://ex.com/never'] });
    assert.deepEqual((await c.op('unsubscribed'))['topics'], ['https://ex.com/{name}']);
    await publish(h, pub, [
      { topics: ['https://ex.com/y'], data: 'gone' },
      { topics: ['https://ex.com/x'], data: 'x2' },
    ]);
    assert.equal((await c.update())['data'], 'x2');
    assert.equal(c.pendingUpdates().length, 0);
    await c.close();
  });

  test('a subscribe with lastEventId replays what was missed, then goes live without a duplicate', async () => {
    const topic = 'https://ex.com/resume';
    const ids = await publish(
      h,
      pub,
      [1, 2, 3].map((n) => ({ topics: [topic], data: `r${n}` })),
    );
    const c = new WsProbe(`${wsUrl}?authorization=${sub}`);
    await c.opened;
    c.send({ op: 'subscribe', topics: [topic], lastEventId: ids[0] });
    const ack = await c.op('subscribed');
    assert.equal(ack['lastEventId'], ids[0]);
    assert.equal(ack['gap'], false);
    const [live] = await publish(h, pub, { topics: [topic], data: 'r4' });
    const got = [await c.update(), await c.update(), await c.update()].map((m) => m['id']);
    assert.deepEqual(got, [ids[1], ids[2], live]);
    await c.close();
  });

  test('an unknown lastEventId is reported as a herald.gap event', async () => {
    const c = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    await c.opened;
    c.send({ op: 'subscribe', topics: ['https://ex.com/g'], lastEventId: 'never-published' });
    assert.equal((await c.op('subscribed'))['gap'], true);
    const ev = await c.op('event');
    assert.equal(ev['type'], 'herald.gap');
    assert.equal((ev['data'] as Record<string, unknown>)['lastEventId'], 'never-published');
    await c.close();
  });

  test('adding topics with lastEventId replays only updates the connection did not already receive', async () => {
    const c = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    await c.opened;
    c.send({ op: 'subscribe', topics: ['https://ex.com/old'] });
    await c.op('subscribed');
    const ids = await publish(h, pub, [
      { topics: ['https://ex.com/old'], data: 'start' },
      { topics: ['https://ex.com/old', 'https://ex.com/new'], data: 'on both' },
      { topics: ['https://ex.com/new'], data: 'new only' },
    ]);
    assert.equal((await c.update())['data'], 'start');
    assert.equal((await c.update())['data'], 'on both');
    c.send({ op: 'subscribe', topics: ['https://ex.com/new'], lastEventId: ids[0] });
    await c.op('subscribed');
    await publish(h, pub, { topics: ['https://ex.com/new'], data: 'after' });
    assert.equal((await c.update())['data'], 'new only');
    assert.equal((await c.update())['data'], 'after');
    assert.equal(c.pendingUpdates().length, 0);
    await c.close();
  });

  test('private updates reach only connections whose token covers the topic', async () => {
    const anon = await mintToken({ secret: SECRET });
    const allowed = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    const other = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${anon}` } });
    await Promise.all([allowed.opened, other.opened]);
    for (const c of [allowed, other]) {
      c.send({ op: 'subscribe', topics: ['https://ex.com/private/{id}'] });
      await c.op('subscribed');
    }
    await publish(h, pub, [
      { topics: ['https://ex.com/private/7'], data: 'secret', private: true },
      { topics: ['https://ex.com/private/8'], data: 'public' },
    ]);
    assert.equal((await allowed.update())['data'], 'secret');
    assert.equal((await allowed.update())['data'], 'public');
    assert.equal((await other.update())['data'], 'public');
    assert.equal(other.pendingUpdates().length, 0);
    await Promise.all([allowed.close(), other.close()]);
  });

  test('the token may come as the first frame', async () => {
    const c = new WsProbe(wsUrl);
    await c.opened;
    c.send({ op: 'auth', token: sub, ref: 'a' });
    assert.equal((await c.op('authenticated'))['ref'], 'a');
    c.send({ op: 'subscribe', topics: ['https://ex.com/private/1'] });
    await c.op('subscribed');
    await publish(h, pub, { topics: ['https://ex.com/private/1'], data: 'for you', private: true });
    assert.equal((await c.update())['data'], 'for you');
    c.send({ op: 'auth', token: sub });
    const err = await c.op('error');
    assert.equal(err['code'], 'HERALD_ERR_BAD_REQUEST');
    assert.match(String(err['message']), /first frame/);
    await c.close();
  });

  test('a bad token in the first frame is answered with an error and close 4401', async () => {
    const c = new WsProbe(wsUrl);
    await c.opened;
    c.send({ op: 'auth', token: 'not.a.jwt' });
    assert.equal((await c.op('error'))['code'], 'HERALD_ERR_UNAUTHORIZED');
    assert.equal((await c.closed).code, 4401);
  });

  test('subscribing without a token on a hub without --anonymous closes with 4401', async () => {
    const c = new WsProbe(wsUrl);
    await c.opened;
    c.send({ op: 'subscribe', topics: ['https://ex.com/a'] });
    const err = await c.op('error');
    assert.equal(err['code'], 'HERALD_ERR_UNAUTHORIZED');
    assert.equal((await c.closed).code, 4401);
  });

  test('a bad token on the upgrade is refused with HTTP 401 and a reason', async () => {
    const c = new WsProbe(wsUrl, { headers: { Authorization: 'Bearer nope' } });
    await assert.rejects(c.opened, (e: { status: number; headers: Record<string, string> }) => {
      assert.equal(e.status, 401);
      assert.equal(e.headers['x-herald-error'], 'HERALD_ERR_UNAUTHORIZED');
      return true;
    });
  });

  test('a cookie token is accepted from an allowed or same origin, refused (403) from another', async () => {
    const cookie = `mercureAuthorization=${sub}`;
    const ok = new WsProbe(wsUrl, { headers: { Cookie: cookie }, origin: 'http://allowed.example' });
    await ok.opened;
    ok.send({ op: 'subscribe', topics: ['https://ex.com/c'] });
    await ok.op('subscribed');
    await ok.close();
    const same = new WsProbe(wsUrl, { headers: { Cookie: cookie }, origin: `http://127.0.0.1:${h.port}` });
    await same.opened;
    await same.close();
    const evil = new WsProbe(wsUrl, { headers: { Cookie: cookie }, origin: 'http://evil.example' });
    await assert.rejects(evil.opened, (e: { status: number }) => e.status === 403);
  });

  test('an upgrade on another path is a 404', async () => {
    const c = new WsProbe(`ws://127.0.0.1:${h.port}/.well-known/mercure/nope`);
    await assert.rejects(c.opened, (e: { status: number }) => e.status === 404);
  });

  test('publishing needs a publish claim and is acknowledged with the id', async () => {
    const watcher = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    await watcher.opened;
    watcher.send({ op: 'subscribe', topics: ['https://ex.com/wspub'] });
    await watcher.op('subscribed');

    const denied = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    await denied.opened;
    denied.send({ op: 'publish', topics: ['https://ex.com/wspub'], data: 'x', ref: 9 });
    const err = await denied.op('error');
    assert.equal(err['ref'], 9);
    assert.equal(err['code'], 'HERALD_ERR_FORBIDDEN_TOPIC');
    assert.match(String(err['message']), /no mercure.publish claim/);

    const both = await mintToken({ secret: SECRET, publish: ['https://ex.com/wspub'] });
    const p = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${both}` } });
    await p.opened;
    p.send({ op: 'publish', topics: ['https://ex.com/other'], data: 'no' });
    assert.equal((await p.op('error'))['code'], 'HERALD_ERR_FORBIDDEN_TOPIC');
    p.send({
      op: 'publish',
      topics: ['https://ex.com/wspub'],
      data: { n: 1 },
      id: 'ws-1',
      type: 't',
      ref: 'p1',
    });
    const ack = await p.op('published');
    assert.deepEqual(ack, { op: 'published', id: 'ws-1', ref: 'p1' });
    assert.deepEqual(await watcher.update(), {
      id: 'ws-1',
      topics: ['https://ex.com/wspub'],
      type: 't',
      data: '{"n":1}',
    });
    p.send({ op: 'publish', topics: ['https://ex.com/wspub'], data: 'x', type: 'herald.fake' });
    assert.equal((await p.op('error'))['code'], 'HERALD_ERR_BAD_TYPE');
    await Promise.all([watcher.close(), p.close()]);
  });

  test('bad frames get an error each, and the tenth closes the connection with 1008', async () => {
    const c = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    await c.opened;
    const bad: [unknown, string][] = [
      ['{not json', 'HERALD_ERR_BAD_BODY'],
      ['[1,2]', 'HERALD_ERR_BAD_BODY'],
      [{ topics: ['a'] }, 'HERALD_ERR_BAD_BODY'],
      [{ op: 'dance' }, 'HERALD_ERR_BAD_BODY'],
      [{ op: 'subscribe', topics: 'https://ex.com/a' }, 'HERALD_ERR_BAD_TOPIC'],
      [{ op: 'subscribe', topics: [] }, 'HERALD_ERR_MISSING_TOPIC'],
      [{ op: 'subscribe', topics: ['bad\u0000sel'] }, 'HERALD_ERR_BAD_SELECTOR'],
      [{ op: 'subscribe', topics: ['https://ex.com/a'], lastEventId: 5 }, 'HERALD_ERR_BAD_ID'],
      [{ op: 'subscribe', topics: ['https://ex.com/a'], ref: { x: 1 } }, 'HERALD_ERR_BAD_BODY'],
    ];
    for (const [frame, code] of bad) {
      c.send(frame);
      assert.equal((await c.op('error'))['code'], code, JSON.stringify(frame));
    }
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await c.op('error'))['code'], 'HERALD_ERR_BAD_BODY');
    assert.equal((await c.closed).code, 1008);
  });

  test('a frame over the size limit closes the connection with 1009', async () => {
    const c = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    await c.opened;
    c.send({ op: 'publish', topics: ['https://ex.com/a'], data: 'x'.repeat(h.config.maxBody + 10) });
    assert.equal((await c.closed).code, 1009);
  });

  test('every connection is counted by the hub as a ws transport while subscribed', async () => {
    const c = new WsProbe(wsUrl, { headers: { Authorization: `Bearer ${sub}` } });
    await c.opened;
    c.send({ op: 'subscribe', topics: ['https://ex.com/count'] });
    const ack = await c.op('subscribed');
    const mine = [...h.hub.subscriptions()].find((s) => s.id === ack['subscriber']);
    assert.equal(mine?.sink.transport, 'ws');
    await c.close();
    // The close frame is answered after the server's 'close' handling ran.
    assert.equal(
      [...h.hub.subscriptions()].some((s) => s.id === ack['subscriber']),
      false,
    );
  });
});

describe('WebSocket liveness and shutdown', () => {
  test('a peer that stops answering pings is cut', async () => {
    const h = await startHerald({
      port: 0,
      host: '127.0.0.1',
      dev: true,
      heartbeat: 100,
      logLevel: 'silent',
    });
    try {
      const c = new WsProbe(`ws://127.0.0.1:${h.port}${WS_PATH}`, { autoPong: false });
      await c.opened;
      c.send({ op: 'subscribe', topics: ['https://ex.com/a'] });
      await c.op('subscribed');
      const healthy = new WsProbe(`ws://127.0.0.1:${h.port}${WS_PATH}`);
      await healthy.opened;
      let pings = 0;
      healthy.ws.on('ping', () => pings++);
      assert.equal((await c.closed).code, 1006);
      assert.ok(pings >= 1, 'the healthy peer was pinged too');
      assert.equal(healthy.ws.readyState, healthy.ws.OPEN, 'a peer that answers stays connected');
      await healthy.close();
    } finally {
      await h.close();
    }
  });

  test('token expiry ends the subscription with herald.token-expired and close 4001', async () => {
    const h = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: SECRET, logLevel: 'silent' });
    try {
      const short = await mintToken({ secret: SECRET, subscribe: ['*'], ttl: '3s' });
      const c = new WsProbe(`ws://127.0.0.1:${h.port}${WS_PATH}`, {
        headers: { Authorization: `Bearer ${short}` },
      });
      await c.opened;
      c.send({ op: 'subscribe', topics: ['https://ex.com/a'] });
      await c.op('subscribed');
      assert.equal((await c.op('event', 10_000))['type'], 'herald.token-expired');
      assert.equal((await c.closed).code, 4001);
    } finally {
      await h.close();
    }
  });

  test('shutdown tells subscribed and idle connections to come back (1001, going away)', async () => {
    const h = await startHerald({ port: 0, host: '127.0.0.1', dev: true, logLevel: 'silent' });
    const url = `ws://127.0.0.1:${h.port}${WS_PATH}`;
    const subscribed = new WsProbe(url);
    const idle = new WsProbe(url);
    await Promise.all([subscribed.opened, idle.opened]);
    subscribed.send({ op: 'subscribe', topics: ['https://ex.com/a'] });
    await subscribed.op('subscribed');
    await h.close();
    assert.equal((await subscribed.op('event'))['type'], 'herald.shutdown');
    assert.equal((await subscribed.closed).code, 1001);
    assert.equal((await idle.closed).code, 1001);
    const late = new WsProbe(url);
    await assert.rejects(late.opened);
  });
});

describe('WebSocket and presence', () => {
  test('topics added and removed on a live socket are announced as subscription events', async () => {
    const h = await startHerald({
      port: 0,
      host: '127.0.0.1',
      jwtKey: SECRET,
      logLevel: 'silent',
      subscriptions: true,
    });
    const url = `ws://127.0.0.1:${h.port}${WS_PATH}`;
    try {
      const admin = await mintToken({
        secret: SECRET,
        subscribe: ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'],
      });
      const watcher = new WsProbe(url, { headers: { Authorization: `Bearer ${admin}` } });
      await watcher.opened;
      watcher.send({ op: 'subscribe', topics: ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'] });
      await watcher.op('subscribed');
      const c = new WsProbe(url, { headers: { Authorization: `Bearer ${admin}` } });
      await c.opened;
      c.send({ op: 'subscribe', topics: ['https://ex.com/a'] });
      await c.op('subscribed');
      c.send({ op: 'subscribe', topics: ['https://ex.com/b'] });
      await c.op('subscribed');
      const seen: string[] = [];
      const next = async () => {
        const doc = JSON.parse(String((await watcher.update())['data'])) as {
          topic: string;
          active: boolean;
        };
        seen.push(`${doc.topic} ${doc.active}`);
      };
      // Changes are coalesced per presence interval (a topic added and removed within one is
      // never announced), so the removal waits until the additions were seen.
      await next();
      await next();
      c.send({ op: 'unsubscribe', topics: ['https://ex.com/a'] });
      await c.op('unsubscribed');
      await next();
      assert.deepEqual(seen, ['https://ex.com/a true', 'https://ex.com/b true', 'https://ex.com/a false']);
      await c.close();
      const last = JSON.parse(String((await watcher.update())['data'])) as { topic: string; active: boolean };
      assert.deepEqual([last.topic, last.active], ['https://ex.com/b', false]);
      await watcher.close();
    } finally {
      await h.close();
    }
  });
});
