// Several `herald serve --redis` processes sharing one real redis-server: hub-wide order,
// resume across nodes, a node dying, Redis dying and coming back, TLS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { mintToken } from '../src/auth/mint.ts';
import { startHubProcess, type HubProcess } from './support/hub-process.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { SseConnection } from './support/sse-client.ts';
import { eventually } from './support/wait.ts';

const KEY = 'cluster-test-secret';
const TOPIC = 'https://example.com/orders';
let publisher: string;
let subscriber: string;

before(async () => {
  publisher = await mintToken({ secret: KEY, publish: ['*'] });
  subscriber = await mintToken({ secret: KEY, subscribe: ['https://example.com/{+any}'] });
});

const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const serveArgs = (redis: TestRedis) => [
  '--port',
  '0',
  '--host',
  '127.0.0.1',
  '--redis',
  redis.url,
  '--jwt-key',
  KEY,
  '--anonymous',
  '--heartbeat',
  '200ms',
];

async function heraldNode(redis: TestRedis, env: NodeJS.ProcessEnv = {}): Promise<HubProcess> {
  const node = await startHubProcess(serveArgs(redis), env);
  cleanups.push(() => node.stop('SIGKILL'));
  return node;
}

async function subscribe(node: HubProcess, options: { token?: string; lastEventId?: string } = {}) {
  const headers: Record<string, string> = {};
  if (options.token) headers['Authorization'] = `Bearer ${options.token}`;
  if (options.lastEventId) headers['Last-Event-ID'] = options.lastEventId;
  const client = await SseConnection.open(
    `${node.url}/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`,
    headers,
  );
  cleanups.push(() => client.close());
  assert.equal(client.status, 200);
  return client;
}

const moreComments = (c: SseConnection, n: number) => {
  const target = c.comments + n;
  return c.waitFor(() => c.comments >= target, `${n} heartbeats`);
};
const lastId = (c: SseConnection) => c.updates.at(-1)!.id!;

async function publish(
  node: HubProcess,
  data: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: string; code: string | null }> {
  const res = await fetch(`${node.url}/.well-known/mercure`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${publisher}` },
    body: new URLSearchParams({ topic: TOPIC, data, ...extra }),
  });
  return { status: res.status, body: (await res.text()).trim(), code: res.headers.get('x-herald-error') };
}

async function readyz(node: HubProcess): Promise<number> {
  return (await fetch(`${node.url}/readyz`)).status;
}

/** Polls `/readyz` (the observable under test) until it answers `status`; bounded. */
async function untilReady(node: HubProcess, status: number): Promise<void> {
  await eventually(
    async () => (await readyz(node)) === status,
    `${node.url}/readyz to answer ${status}`,
    7500,
    25,
  );
}

const ids = (c: SseConnection) => c.updates.map((e) => e.id!);

describe('two herald nodes sharing one Redis', () => {
  let redis: TestRedis;
  let a: HubProcess;
  let b: HubProcess;
  before(async () => {
    redis = await startRedis();
    cleanups.push(() => redis.stop());
    [a, b] = await Promise.all([heraldNode(redis), heraldNode(redis)]);
  });

  it('uses one Pub/Sub connection per node however many clients connect', async () => {
    await Promise.all(Array.from({ length: 25 }, () => subscribe(a)));
    const admin = new Redis(redis.url);
    try {
      const [, count] = (await admin.pubsub('NUMSUB', 'herald:updates')) as [string, number];
      assert.equal(count, 2);
    } finally {
      admin.disconnect();
    }
    assert.equal(await readyz(a), 200);
  });

  it('delivers every update to subscribers on both nodes in one order, private ones only where allowed', async () => {
    const onA = await subscribe(a, { token: subscriber });
    const onB = await subscribe(b, { token: subscriber });
    const anonymous = await subscribe(b);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        publish(i % 2 ? a : b, `u${i}`, i % 10 === 0 ? { private: 'on', id: `private-${i}` } : {}),
      ),
    );
    assert.ok(results.every((r) => r.status === 200));
    await onA.waitForUpdates(40);
    await onB.waitForUpdates(40);
    assert.deepEqual(ids(onA), ids(onB));
    assert.deepEqual(new Set(ids(onA)), new Set(results.map((r) => r.body)));
    await anonymous.waitForUpdates(36);
    assert.deepEqual(
      ids(anonymous),
      ids(onA).filter((id) => !id.startsWith('private-')),
    );
  });

  it('resumes a client that moves from node A to node B with no gap and no duplicate', async () => {
    const reference = await subscribe(b, { token: subscriber });
    const moving = await subscribe(a, { token: subscriber });
    let n = 0;
    const next = () => publish(n % 2 ? a : b, `r${n++}`);
    for (let i = 0; i < 10; i++) assert.equal((await next()).status, 200);
    await moving.waitForUpdates(10);
    moving.close();
    // Publishing continues while the client is away and while it reconnects: the seam is live.
    const during = Array.from({ length: 10 }, () => next());
    const resumed = await subscribe(b, { token: subscriber, lastEventId: lastId(moving) });
    assert.equal(resumed.headers['last-event-id'], lastId(moving));
    const later = Array.from({ length: 10 }, () => next());
    assert.ok((await Promise.all([...during, ...later])).every((r) => r.status === 200));
    await reference.waitForUpdates(30);
    await resumed.waitForUpdates(30 - moving.updates.length);
    const seen = [...ids(moving), ...ids(resumed)];
    assert.deepEqual(seen, ids(reference));
  });

  it('loses only the connections of a node that is killed; its clients resume elsewhere', async () => {
    const c = await heraldNode(redis);
    const reference = await subscribe(b, { token: subscriber });
    const onC = await subscribe(c, { token: subscriber });
    for (let i = 0; i < 5; i++) assert.equal((await publish(c, `k${i}`)).status, 200);
    await onC.waitForUpdates(5);
    await c.stop('SIGKILL');
    await onC.waitForEnd();
    for (let i = 5; i < 15; i++) assert.equal((await publish(b, `k${i}`)).status, 200);
    const resumed = await subscribe(a, { token: subscriber, lastEventId: lastId(onC) });
    await resumed.waitForUpdates(10);
    await reference.waitForUpdates(15);
    assert.deepEqual([...ids(onC), ...ids(resumed)], ids(reference));
    assert.equal(await readyz(a), 200);
    assert.equal(await readyz(b), 200);
  });
});

describe('herald nodes when Redis dies and comes back', () => {
  it('answers 503 while Redis is down, keeps subscribers, and delivers every accepted update', async () => {
    const redis = await startRedis({ persistent: true });
    cleanups.push(() => redis.stop());
    const [a, b] = await Promise.all([heraldNode(redis), heraldNode(redis)]);
    const onA = await subscribe(a, { token: subscriber });
    const onB = await subscribe(b, { token: subscriber });
    const resuming = await subscribe(a, { token: subscriber });

    const accepted: string[][] = [[], []];
    const refused: { status: number; code: string | null; body: string }[] = [];
    let attempts = 0;
    let running = true;
    const loop = async (node: HubProcess, out: string[]) => {
      // Bounded: each loop stops by itself after 4000 attempts whatever happens.
      for (let i = 0; running && i < 4000; i++) {
        attempts++;
        const r = await publish(node, `p${i}`);
        if (r.status === 200) out.push(r.body);
        else {
          refused.push(r);
          await new Promise((res) => setTimeout(res, 10));
        }
      }
    };
    const loops = [loop(a, accepted[0]!), loop(b, accepted[1]!)];
    const total = () => accepted[0]!.length + accepted[1]!.length;
    const untilAccepted = async (n: number) => {
      await eventually(() => total() >= n, `${n} accepted publishes`, 10_000);
    };

    await untilAccepted(30);
    await resuming.waitForUpdates(5);
    await redis.kill();
    resuming.close();
    await Promise.all([untilReady(a, 503), untilReady(b, 503)]);
    const heartbeats = Promise.all([moreComments(onA, 2), moreComments(onB, 2)]);
    await heartbeats; // subscribers stay connected and keep getting heartbeats while Redis is away
    await eventually(() => refused.length >= 4, 'publishes to be refused while Redis is down');
    for (const r of refused) {
      assert.equal(r.status, 503);
      assert.equal(r.code, 'HERALD_ERR_BROKER_UNAVAILABLE');
      assert.match(r.body, /redis/i);
    }

    const before = total();
    await redis.restart();
    await Promise.all([untilReady(a, 200), untilReady(b, 200)]);
    await untilAccepted(before + 30);
    running = false;
    await Promise.all(loops);

    const all = [...accepted[0]!, ...accepted[1]!];
    // An update in flight when Redis died may be stored yet answered 503: it can arrive too.
    const hasAll = (events: { id?: string | undefined }[]) => {
      const got = new Set(events.map((e) => e.id));
      return all.every((id) => got.has(id));
    };
    await onA.waitFor(() => hasAll(onA.updates), 'every accepted update');
    await onB.waitFor(() => hasAll(onB.updates), 'every accepted update');
    for (const client of [onA, onB]) {
      const got = ids(client);
      assert.equal(new Set(got).size, got.length, 'no update twice');
      for (const id of all) assert.ok(got.includes(id), `accepted update ${id} delivered`);
      // Each publisher's accepted updates arrive in the order it published them.
      for (const mine of accepted) {
        const positions = mine.map((id) => got.indexOf(id));
        assert.deepEqual(
          positions,
          [...positions].sort((x, y) => x - y),
        );
      }
    }
    assert.deepEqual(ids(onA), ids(onB));
    assert.equal(onA.events.length, onA.updates.length, 'no gap or other hub events');

    // A client that left during the outage resumes on the other node and misses nothing.
    const back = await subscribe(b, { token: subscriber, lastEventId: lastId(resuming) });
    const expected = ids(onA).slice(ids(onA).indexOf(lastId(resuming)) + 1);
    await back.waitForUpdates(expected.length);
    assert.deepEqual(ids(back), expected);
    assert.ok(attempts > all.length);
  });
});

describe('herald over TLS', () => {
  it('connects to rediss:// with a CA given through NODE_EXTRA_CA_CERTS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const f = (n: string) => join(dir, n);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=herald-test-ca',
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
    );
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-keyout',
      f('server.key'),
      '-out',
      f('server.csr'),
    );
    const ext = f('ext.cnf');
    execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > '${ext}'`]);
    ssl(
      'x509',
      '-req',
      '-in',
      f('server.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      ext,
      '-out',
      f('server.pem'),
    );
    const redis = await startRedis({ tls: { cert: f('server.pem'), key: f('server.key'), ca: f('ca.pem') } });
    cleanups.push(() => redis.stop());
    assert.match(redis.url, /^rediss:\/\//);
    const node = await heraldNode(redis, { NODE_EXTRA_CA_CERTS: f('ca.pem') });
    const client = await subscribe(node, { token: subscriber });
    assert.equal((await publish(node, 'over tls')).status, 200);
    await client.waitForUpdates(1);
    assert.equal(client.updates[0]!.data, 'over tls');

    // Without the CA the certificate is refused and the node does not start.
    await assert.rejects(
      startHubProcess(serveArgs(redis)),
      /cannot use Redis at rediss:\/\/localhost:\d+: .*(certificate|self-signed|verify)/i,
    );
  });
});
