import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { httpRequest, publishForm, SseClient } from './support/raw-http.ts';

const KEY = 'limits-test-secret-0123456789';
const PATH = '/.well-known/mercure';

async function hubWith(partial: Parameters<typeof startHerald>[0]): Promise<RunningHerald> {
  return startHerald({
    port: 0,
    host: '127.0.0.1',
    jwtKey: KEY,
    logLevel: 'silent',
    heartbeat: 0,
    ...partial,
  });
}

function subscribe(h: RunningHerald, query: string, headers: Record<string, string> = {}, from?: string) {
  return new SseClient(`${h.url}${PATH}?${query}`, headers, from);
}

function assertRefused(c: SseClient, status: number, code: string, reason: RegExp): void {
  assert.equal(c.status, status);
  assert.equal(c.headers['x-herald-error'], code);
  assert.match(c.body, reason);
  assert.equal(c.body.trim().split('\n').length, 1, 'the reason is one line');
}

describe('connection caps answer 429 with Retry-After', () => {
  let h: RunningHerald;
  let alice: string;
  const open: SseClient[] = [];
  before(async () => {
    h = await hubWith({
      anonymous: true,
      maxConnections: 8,
      maxConnectionsPerIp: 3,
      maxConnectionsPerSubject: 2,
      maxSubscribersPerSelector: 2,
    });
    alice = await mintToken({ secret: KEY, subscribe: ['*'], subject: 'alice' });
  });
  after(async () => {
    for (const c of open) c.close();
    await h.close();
  });

  test('a subject over its cap is refused, and admitted again once one of its connections closes', async () => {
    const auth = { Authorization: `Bearer ${alice}` };
    const a1 = subscribe(h, 'topic=s1', auth, '127.0.0.11');
    const a2 = subscribe(h, 'topic=s2', auth, '127.0.0.12');
    assert.equal(await a1.opened, 200);
    assert.equal(await a2.opened, 200);
    const a3 = subscribe(h, 'topic=s3', auth, '127.0.0.13');
    assert.equal(await a3.opened, 429);
    assertRefused(
      a3,
      429,
      'HERALD_ERR_TOO_MANY_CONNECTIONS',
      /too many connections for this subject \(limit 2\)/,
    );
    assert.equal(a3.headers['retry-after'], '5');
    a1.close();
    await waitUntil(() => h.hub.connectionCount === 1);
    const a4 = subscribe(h, 'topic=s4', auth, '127.0.0.14');
    assert.equal(await a4.opened, 200);
    open.push(a2, a4);
  });

  test('an address over its cap is refused while another address is admitted', async () => {
    const ip = '127.0.0.21';
    const c = [
      subscribe(h, 'topic=i1', {}, ip),
      subscribe(h, 'topic=i2', {}, ip),
      subscribe(h, 'topic=i3', {}, ip),
    ];
    for (const x of c) assert.equal(await x.opened, 200);
    open.push(...c);
    const refused = subscribe(h, 'topic=i4', {}, ip);
    await refused.opened;
    assertRefused(refused, 429, 'HERALD_ERR_TOO_MANY_CONNECTIONS', /this address \(limit 3\)/);
    assert.ok(refused.headers['retry-after']);
  });

  test('a selector over its cap is refused, naming the selector', async () => {
    const ok1 = subscribe(h, 'topic=shared', {}, '127.0.0.31');
    const ok2 = subscribe(h, 'topic=shared', {}, '127.0.0.32');
    assert.equal(await ok1.opened, 200);
    assert.equal(await ok2.opened, 200);
    open.push(ok1, ok2);
    const refused = subscribe(h, 'topic=other&topic=shared', {}, '127.0.0.33');
    await refused.opened;
    assertRefused(refused, 429, 'HERALD_ERR_TOO_MANY_CONNECTIONS', /selector "shared" \(limit 2\)/);
  });

  test('the global cap refuses everyone once the node is full', async () => {
    assert.equal(h.hub.connectionCount, 7);
    const last = subscribe(h, 'topic=g', {}, '127.0.0.41');
    assert.equal(await last.opened, 200);
    open.push(last);
    const refused = subscribe(h, 'topic=g', {}, '127.0.0.41');
    await refused.opened;
    assertRefused(refused, 429, 'HERALD_ERR_TOO_MANY_CONNECTIONS', /connection limit \(8\)/);
    assert.equal(h.hub.counters.refusals['HERALD_ERR_TOO_MANY_CONNECTIONS'], 4);
  });

  test('closing every connection returns every slot', async () => {
    for (const c of open.splice(0)) c.close();
    await waitUntil(() => h.hub.connectionCount === 0);
    assert.equal(h.hub.admittedCount, 0);
    const again = subscribe(h, 'topic=shared', { Authorization: `Bearer ${alice}` }, '127.0.0.21');
    assert.equal(await again.opened, 200);
    open.push(again);
  });
});

describe('publish rate limit', () => {
  test('a publisher over its burst gets 429 with Retry-After; another publisher is unaffected', async () => {
    const h = await hubWith({ publishRate: 2, publishBurst: 3 });
    try {
      const p1 = await mintToken({ secret: KEY, publish: ['*'], subject: 'worker-1' });
      const p2 = await mintToken({ secret: KEY, publish: ['*'], subject: 'worker-2' });
      for (let i = 0; i < 3; i++)
        assert.equal(
          (
            await publishForm(h.url, p1, [
              ['topic', 't'],
              ['data', String(i)],
            ])
          ).status,
          200,
        );
      const refused = await publishForm(h.url, p1, [
        ['topic', 't'],
        ['data', 'x'],
      ]);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers['x-herald-error'], 'HERALD_ERR_RATE_LIMITED');
      assert.equal(refused.headers['retry-after'], '1');
      assert.match(refused.text, /^publish rate limit: 2 updates\/s \(burst 3\); retry in 1s\n$/);
      assert.equal(
        (
          await publishForm(h.url, p2, [
            ['topic', 't'],
            ['data', 'y'],
          ])
        ).status,
        200,
      );
      // A JSON batch costs one token per update.
      const batch = await httpRequest(`${h.url}${PATH}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${p2}`, 'Content-Type': 'application/json' },
        body: JSON.stringify([1, 2, 3].map((n) => ({ topics: ['t'], data: String(n) }))),
      });
      assert.equal(batch.status, 429);
      assert.equal(h.hub.counters.published, 4);
    } finally {
      await h.close();
    }
  });
});

describe('request limits answer 400 or 413 with a one-line reason', () => {
  let h: RunningHerald;
  let pub: string;
  before(async () => {
    h = await hubWith({ anonymous: true, maxSelectors: 3, maxBody: 10_000 });
    pub = await mintToken({ secret: KEY, publish: ['*'], subject: 'p' });
  });
  after(() => h.close());

  const postJson = (body: string) =>
    httpRequest(`${h.url}${PATH}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pub}`, 'Content-Type': 'application/json' },
      body,
    });
  const postForm = (body: string | Uint8Array) =>
    httpRequest(`${h.url}${PATH}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pub}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });

  function expect(
    r: { status: number; headers: Record<string, unknown>; text: string },
    status: number,
    code: string,
    reason: RegExp,
  ) {
    assert.equal(r.status, status, r.text);
    assert.equal(r.headers['x-herald-error'], code);
    assert.match(r.text, reason);
    assert.ok(r.text.endsWith('\n') && r.text.indexOf('\n') === r.text.length - 1, 'one line');
  }

  test('a body over the cap is refused with 413, whether declared or streamed', async () => {
    expect(
      await postForm('topic=t&data=' + 'x'.repeat(20_000)),
      413,
      'HERALD_ERR_BODY_TOO_LARGE',
      /larger than 10000 bytes/,
    );
    // Chunked: no Content-Length to trust, the hub counts as it reads.
    const chunked = await httpRequest(`${h.url}${PATH}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${pub}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        'Transfer-Encoding': 'chunked',
      },
      body: 'topic=t&data=' + 'y'.repeat(50_000),
    });
    expect(chunked, 413, 'HERALD_ERR_BODY_TOO_LARGE', /larger than 10000 bytes/);
  });

  test('more selectors than allowed is a 400', async () => {
    const c = subscribe(h, 'topic=a&topic=b&topic=c&topic=d');
    await c.opened;
    assert.equal(c.status, 400);
    assert.equal(c.headers['x-herald-error'], 'HERALD_ERR_TOO_MANY_SELECTORS');
    assert.match(c.body, /at most 3 topic selectors/);
  });

  test('a selector longer than the limit is a 400', async () => {
    const c = subscribe(h, `topic=${'s'.repeat(2049)}`);
    await c.opened;
    assert.equal(c.status, 400);
    assert.equal(c.headers['x-herald-error'], 'HERALD_ERR_BAD_SELECTOR');
    assert.match(c.body, /longer than 2048/);
  });

  test('a topic longer than the limit is a 400', async () => {
    expect(
      await postJson(JSON.stringify({ topics: ['t'.repeat(2049)] })),
      400,
      'HERALD_ERR_BAD_TOPIC',
      /longer than 2048/,
    );
  });

  test('a body that is not UTF-8 is a 400', async () => {
    const bytes = Buffer.concat([Buffer.from('topic=t&data='), Buffer.from([0xc3, 0x28, 0xff])]);
    expect(await postForm(bytes), 400, 'HERALD_ERR_BAD_BODY', /not valid UTF-8/);
  });

  test('a bad id, type or retry is a 400 naming the field', async () => {
    expect(await postForm('topic=t&id=%23x'), 400, 'HERALD_ERR_BAD_ID', /id must not start with "#"/);
    expect(await postForm('topic=t&id=a%0Ab'), 400, 'HERALD_ERR_BAD_ID', /control character/);
    expect(await postForm('topic=t&type=a%0D%0Adata:x'), 400, 'HERALD_ERR_BAD_TYPE', /control character/);
    expect(await postForm('topic=t&retry=-1'), 400, 'HERALD_ERR_BAD_RETRY', /non-negative integer/);
    expect(await postForm('topic=t&retry=1e3'), 400, 'HERALD_ERR_BAD_RETRY', /non-negative integer/);
  });

  test('JSON fields of the wrong type are a 400 naming the field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ topics: 't', id: 5 }, 'HERALD_ERR_BAD_ID', /"id" must be a string/],
      [{ topics: 't', type: ['x'] }, 'HERALD_ERR_BAD_TYPE', /"type" must be a string/],
      [{ topics: 't', retry: '10' }, 'HERALD_ERR_BAD_RETRY', /"retry" must be a number/],
      [{ topics: 't', retry: 1.5 }, 'HERALD_ERR_BAD_RETRY', /non-negative integer/],
      [{ topics: 't', private: 'yes' }, 'HERALD_ERR_BAD_BODY', /"private" must be a boolean/],
      [{ topics: [1, 2] }, 'HERALD_ERR_BAD_TOPIC', /array of strings/],
      [{ topics: [] }, 'HERALD_ERR_MISSING_TOPIC', /at least one topic/],
      [{ data: 'x' }, 'HERALD_ERR_MISSING_TOPIC', /"topics" is required/],
      ['just a string', 'HERALD_ERR_BAD_BODY', /must be a JSON object/],
      [[{ topics: 't' }, null], 'HERALD_ERR_BAD_BODY', /update 1: each update must be a JSON object/],
      [[], 'HERALD_ERR_BAD_BODY', /at least one update/],
    ];
    for (const [body, code, reason] of cases) expect(await postJson(JSON.stringify(body)), 400, code, reason);
    expect(await postJson('{"topics":'), 400, 'HERALD_ERR_BAD_BODY', /not valid JSON/);
    assert.equal(h.hub.counters.published, 0, 'nothing bad was published');
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

describe('limit settings', () => {
  test('are read from flags and HERALD_* variables, and malformed values stop the start', () => {
    const { config } = loadConfig(
      ['--max-connections', '10', '--publish-rate', '50', '--slow-consumer', 'drop'],
      { HERALD_MAX_CONNECTIONS_PER_IP: '5', HERALD_MAX_CONNECTIONS: '99', HERALD_PUBLISH_BURST: '7' },
    );
    assert.equal(config.maxConnections, 10, 'a flag wins over the environment');
    assert.equal(config.maxConnectionsPerIp, 5);
    assert.equal(config.publishRate, 50);
    assert.equal(config.publishBurst, 7);
    assert.equal(config.slowConsumer, 'drop');
    assert.equal(loadConfig([], {}).config.slowConsumer, 'disconnect');
    assert.throws(
      () => loadConfig(['--slow-consumer', 'later'], {}),
      /"later" is not one of disconnect, drop/,
    );
    assert.throws(() => loadConfig(['--publish-rate', '-1'], {}), ConfigError);
    assert.throws(
      () => loadConfig([], { HERALD_MAX_CONNECTIONS_PER_SUBJECT: 'lots' }),
      /not a non-negative integer/,
    );
  });
});
