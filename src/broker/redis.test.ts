import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Update } from '../protocol/update.ts';
import { startRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { eventually } from '../../test/support/wait.ts';
import { brokerContract } from './broker-contract.ts';
import { compareStreamIds, RedisBroker, type RedisBrokerOptions } from './redis.ts';
import { createRedisClient, parseRedisTarget } from './redis-client.ts';

const logger = pino({ level: 'silent' });
let redis: TestRedis;
let prefixes = 0;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

brokerContract(
  'RedisBroker',
  async (options) => new RedisBroker({ ...options, url: redis.url, logger, prefix: `contract${++prefixes}` }),
);

/** A started broker plus what it dispatched; closed after the file. */
const brokers: RedisBroker[] = [];
after(async () => {
  await Promise.all(brokers.map((b) => b.close()));
});
async function node(options: Partial<RedisBrokerOptions> & { prefix: string }) {
  const broker = new RedisBroker({ url: redis.url, historySize: 1000, historyTtlMs: 0, logger, ...options });
  brokers.push(broker);
  const seen: Update[] = [];
  const gaps: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  await broker.start(
    (u) => {
      seen.push(u);
      for (const w of waiters) if (seen.length >= w.n) w.resolve();
    },
    (g) => gaps.push(g.reason),
  );
  const received = (n: number, ms = 5000) =>
    new Promise<Update[]>((resolve, reject) => {
      if (seen.length >= n) return resolve(seen);
      const t = setTimeout(() => reject(new Error(`received ${seen.length} of ${n}`)), ms);
      waiters.push({ n, resolve: () => (clearTimeout(t), resolve(seen)) });
    });
  return { broker, seen, gaps, received };
}

const input = (data: string) => ({ topics: ['https://example.com/x'], data, private: false });

describe('RedisBroker across nodes', () => {
  it('gives every node every update exactly once, in the same hub-wide order', async () => {
    const a = await node({ prefix: 'order' });
    const b = await node({ prefix: 'order' });
    const published = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).broker.publish([input(`u${i}`)])),
    );
    const sa = await a.received(100);
    const sb = await b.received(100);
    assert.deepEqual(
      sa.map((u) => u.position),
      sb.map((u) => u.position),
    );
    assert.equal(new Set(sa.map((u) => u.id)).size, 100);
    assert.deepEqual(new Set(sa.map((u) => u.id)), new Set(published.flat().map((u) => u.id)));
    for (let i = 1; i < sa.length; i++) assert.ok(compareStreamIds(sa[i - 1]!.position, sa[i]!.position) < 0);
  });

  it('holds one Pub/Sub connection per node', async () => {
    await node({ prefix: 'numsub' });
    await node({ prefix: 'numsub' });
    const admin = new Redis(redis.url);
    try {
      const [, count] = (await admin.pubsub('NUMSUB', 'numsub:updates')) as [string, number];
      assert.equal(count, 2);
    } finally {
      admin.disconnect();
    }
  });

  it('catches up from the stream what its subscriber missed while disconnected, without duplicates', async () => {
    const a = await node({ prefix: 'catchup' });
    const b = await node({ prefix: 'catchup', nodeName: 'catchup-b' });
    await a.broker.publish([input('before')]);
    await b.received(1);
    const admin = new Redis(redis.url);
    try {
      // Kill only b's subscriber connection, then publish through a while b reconnects.
      const list = (await admin.client('LIST')) as string;
      const line = list.split('\n').find((l) => l.includes(' name=catchup-b-sub '));
      const bId = /id=(\d+)/.exec(line ?? '')?.[1];
      assert.ok(bId, 'b has a named subscriber connection');
      await admin.client('KILL', 'ID', bId);
      const missed = [];
      for (let i = 0; i < 50; i++) missed.push(...(await a.broker.publish([input(`m${i}`)])));
      const seen = await b.received(51);
      assert.deepEqual(
        seen.map((u) => u.id),
        [a.seen[0]!.id, ...missed.map((u) => u.id)],
      );
      assert.equal(b.broker.health().ready, true);
      await a.broker.publish([input('after')]);
      assert.equal((await b.received(52)).at(-1)!.data, 'after');
      assert.equal(b.seen.length, 52);
    } finally {
      admin.disconnect();
    }
  });
});

describe('RedisBroker never loses updates silently', () => {
  it('tells its hub of a gap when its catch-up starts past updates that were trimmed meanwhile', async () => {
    const a = await node({ prefix: 'trimgap', historySize: 3 });
    const b = await node({ prefix: 'trimgap', historySize: 3, nodeName: 'trimgap-b' });
    await a.broker.publish([input('before')]);
    await b.received(1);
    const admin = new Redis(redis.url);
    try {
      const list = (await admin.client('LIST')) as string;
      const bId = /id=(\d+)/.exec(
        list.split('\n').find((l) => l.includes(' name=trimgap-b-sub ')) ?? '',
      )?.[1];
      assert.ok(bId);
      await admin.client('KILL', 'ID', bId);
      // Sent at once, before b's first reconnect attempt (100 ms later): b comes back to a
      // stream that trimmed five updates it never saw.
      const sent = await Promise.all(Array.from({ length: 8 }, (_, i) => a.broker.publish([input(`t${i}`)])));
      const seen = await b.received(4);
      assert.deepEqual(
        seen.slice(1).map((u) => u.id),
        sent
          .flat()
          .slice(-3)
          .map((u) => u.id),
      );
      assert.deepEqual(b.gaps, ['trimmed']);
      assert.deepEqual(a.gaps, []);
    } finally {
      admin.disconnect();
    }
  });

  it('reads history without writing: expired entries are left out, not trimmed, by a read', async () => {
    const a = await node({ prefix: 'readonly', historyTtlMs: 150 });
    await a.broker.publish([input('old')]);
    const admin = new Redis(redis.url);
    try {
      // Age-based retention needs real time to pass; the wait is the behaviour under test.
      await new Promise((r) => setTimeout(r, 300));
      const before = await admin.xlen('{readonly}:stream');
      assert.deepEqual((await a.broker.historyAfter('earliest', 10)).updates, []);
      assert.equal(await admin.xlen('{readonly}:stream'), before);
      assert.equal(before, 1);
    } finally {
      admin.disconnect();
    }
  });
});

describe('RedisBroker history and the live feed', () => {
  it('never replays an update this node has not dispatched yet: the live feed brings it, once', async () => {
    const b = await node({ prefix: 'lag' });
    const [first] = await b.broker.publish([input('first')]);
    await b.received(1);
    // Stored, but its Pub/Sub message has not reached this node yet (a lagging subscriber
    // connection under load): what the publish script does, minus the PUBLISH.
    const admin = new Redis(redis.url);
    try {
      const id = 'urn:uuid:late-one';
      const payload = JSON.stringify({ ...input('late'), id, publishedAt: Date.now() });
      const sid = (await admin.xadd('{lag}:stream', '*', 'i', id, 'u', payload))!;
      await admin.hsetnx('{lag}:ids', id, sid);
      const page = await b.broker.historyAfter(first!.id, 10);
      assert.equal(page.found, true);
      assert.deepEqual(page.updates, [], 'not replayed before it is dispatched');
      await admin.publish('lag:updates', `${sid} ${payload}`);
      const seen = await b.received(2);
      assert.deepEqual(
        seen.map((u) => u.data),
        ['first', 'late'],
      );
      const later = await b.broker.historyAfter(first!.id, 10);
      assert.deepEqual(
        later.updates.map((u) => u.data),
        ['late'],
        'replayed once dispatched',
      );
    } finally {
      admin.disconnect();
    }
  });
});

describe('RedisBroker when Redis goes away', () => {
  it('rejects publishes and reports not ready, then recovers by itself after a restart', async () => {
    const own = await startRedis({ persistent: true });
    const broker = new RedisBroker({
      url: own.url,
      historySize: 100,
      historyTtlMs: 0,
      logger,
      maxReconnectDelayMs: 100,
    });
    const seen: string[] = [];
    try {
      await broker.start((u) => seen.push(u.data));
      await broker.publish([input('one')]);
      await own.kill();
      await assert.rejects(broker.publish([input('lost')]), /unreachable|redis/);
      await eventually(() => !broker.health().ready, 'the broker to report Redis gone');
      // Health may turn on the subscriber connection's loss before the command connection
      // notices: either way the publish is refused with a reason that names Redis.
      await assert.rejects(broker.publish([input('lost')]), /unreachable|redis did not confirm the update/);
      await assert.rejects(broker.historyAfter('earliest', 10));
      await own.restart();
      await eventually(() => broker.health().ready, 'the broker to reconnect', 5000, 25);
      await broker.publish([input('two')]);
      await eventually(() => seen.length >= 2, 'the update published after the restart', 5000, 25);
      assert.deepEqual(seen, ['one', 'two']);
      const history = await broker.historyAfter('earliest', 10);
      assert.deepEqual(
        history.updates.map((u) => u.data),
        ['one', 'two'],
      );
    } finally {
      await broker.close();
      await own.stop();
    }
  });

  it('fails to start with a clear reason when nothing listens', async () => {
    const own = await startRedis();
    await own.stop();
    const broker = new RedisBroker({
      url: own.url,
      historySize: 10,
      historyTtlMs: 0,
      logger,
      startTimeoutMs: 1000,
    });
    await assert.rejects(
      broker.start(() => {}),
      /cannot use Redis at redis:\/\/127\.0\.0\.1:\d+: /,
    );
  });
});

describe('RedisBroker URLs', () => {
  it('authenticates with a password and uses the database number of the URL', async () => {
    const own = await startRedis({ password: 's3cret/+' });
    const broker = new RedisBroker({ url: `${own.url}/5`, historySize: 10, historyTtlMs: 0, logger });
    const admin = new Redis({ port: own.port, host: '127.0.0.1', password: 's3cret/+', db: 5 });
    try {
      await broker.start(() => {});
      await broker.publish([input('in db 5')]);
      assert.equal(await admin.exists('{herald}:stream'), 1);
      await admin.select(0);
      assert.equal(await admin.exists('{herald}:stream'), 0);
    } finally {
      admin.disconnect();
      await broker.close();
      await own.stop();
    }
  });

  it('refuses a wrong password at start, naming the reason and hiding the password', async () => {
    const own = await startRedis({ password: 'right' });
    const broker = new RedisBroker({
      url: `redis://:wrong@127.0.0.1:${own.port}`,
      historySize: 10,
      historyTtlMs: 0,
      logger,
      startTimeoutMs: 2000,
    });
    try {
      await assert.rejects(
        broker.start(() => {}),
        (e: Error) => {
          assert.match(e.message, /WRONGPASS/);
          assert.doesNotMatch(e.message, /wrong/);
          return true;
        },
      );
    } finally {
      await own.stop();
    }
  });

  it('rejects URLs it cannot use with a one-line reason', () => {
    assert.throws(() => parseRedisTarget('http://127.0.0.1:6379'), /unsupported scheme "http:"/);
    assert.throws(() => parseRedisTarget('redis://127.0.0.1:6379/db'), /database must be a number/);
    assert.throws(() => parseRedisTarget('not a url'), /not a URL/);
    // ioredis parses the URL itself; the options it ends up with are these.
    const target = parseRedisTarget('rediss://u:p%40ss@h.example:6380/2');
    assert.equal(target.kind, 'single');
    if (target.kind !== 'single') return;
    const client = createRedisClient(target, { lazyConnect: true });
    const { host, port, db, username, password, tls } = client.options;
    client.disconnect();
    assert.deepEqual(
      { host, port, db, username, password, tls },
      {
        host: 'h.example',
        port: 6380,
        db: 2,
        username: 'u',
        password: 'p@ss',
        tls: { servername: 'h.example' },
      },
    );
  });
});
