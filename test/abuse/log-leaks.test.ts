// Abuse class: payloads and infrastructure details leaking (issue 15, item 7). Nothing of a
// refused payload reaches a log line at any level; /readyz does not tell a client where the
// broker lives (the logs do); /metrics can be kept private with a token.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { healthOf } from '../../src/broker/broker.ts';
import { createRedisStateStore } from '../../src/broker/redis-backends.ts';
import { createHub, type HeraldHub, type HeraldOptions } from '../../src/create-hub.ts';
import { publisherToken, TEST_KEY } from '../support/hub-fixture.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { eventually } from '../support/wait.ts';
import { WsProbe } from '../support/ws-probe.ts';

/** A hub served over node:http on 127.0.0.1, its every log line (level trace) kept. */
interface CapturedHub {
  url: string;
  port: number;
  herald: HeraldHub;
  lines: string[];
  close(): Promise<void>;
}

async function startCaptured(options: HeraldOptions = {}): Promise<CapturedHub> {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
  const herald = await createHub({ jwtKey: TEST_KEY, anonymous: true, heartbeat: 0, logger, ...options });
  const server: Server = createServer(herald.handle);
  const detach = herald.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    herald,
    lines,
    async close() {
      detach();
      await herald.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const PATH = '/.well-known/mercure';

async function post(
  hub: CapturedHub,
  token: string,
  body: string,
  type = 'application/json',
): Promise<number> {
  const res = await fetch(`${hub.url}${PATH}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
    body,
  });
  await res.text();
  return res.status;
}

/** Every substring of `payload` of length `n` (and its JSON-escaped form) absent from the logs. */
function assertNotLogged(lines: readonly string[], payload: string, n = 4): void {
  const logs = lines.join('\n');
  for (let i = 0; i + n <= payload.length; i++) {
    const piece = payload.slice(i, i + n);
    const escaped = JSON.stringify(piece).slice(1, -1);
    assert.ok(
      !logs.includes(piece) && !logs.includes(escaped),
      `payload piece ${JSON.stringify(piece)} of ${JSON.stringify(payload)} is in the logs:\n${lines.find((l) => l.includes(piece) || l.includes(escaped))}`,
    );
  }
}

/** Refused publishes carrying `secret` in each place a payload can be; each must get a 400. */
async function refuseAll(hub: CapturedHub, token: string, secret: string): Promise<void> {
  const topic = `https://example.com/leaks/${hub.lines.length}`;
  const refused: [string, Promise<number>][] = [
    ['unterminated JSON body', post(hub, token, `{"topics":"${topic}","data":"${secret}`)],
    ['JSON body with garbage', post(hub, token, `{"topics":"${topic}","data":${secret}}`)],
    [
      'patch with a reserved key',
      post(hub, token, JSON.stringify({ topics: topic, patch: { [`$${secret}`]: 1 } })),
    ],
    [
      '$inc of a string',
      post(hub, token, JSON.stringify({ topics: topic, patch: { $inc: { [secret]: 'x' } } })),
    ],
    [
      '$rate with a bad field',
      post(hub, token, JSON.stringify({ topics: topic, patch: { $rate: { [`$${secret}`]: 5 } } })),
    ],
    [
      'form patch that is not JSON',
      post(
        hub,
        token,
        new URLSearchParams({ topic, patch: '1', data: `{${secret}` }).toString(),
        'application/x-www-form-urlencoded',
      ),
    ],
  ];
  for (const [what, status] of refused) assert.equal(await status, 400, what);
  // A counter the store refuses to increment (not a number): its path is the publisher's.
  const kept = JSON.stringify({ topics: topic, data: { [secret]: 'text' }, retain: true });
  assert.equal(await post(hub, token, kept), 200);
  assert.equal(
    await post(hub, token, JSON.stringify({ topics: topic, patch: { $inc: { [secret]: 1 } } })),
    400,
  );
}

describe('refused payloads never reach the logs', () => {
  let hub: CapturedHub;
  let redis: TestRedis;
  let onRedis: CapturedHub;
  let token: string;
  before(async () => {
    redis = await startRedis();
    hub = await startCaptured();
    onRedis = await startCaptured({ redis: redis.url });
    token = await publisherToken();
  });
  after(async () => {
    await hub.close();
    await onRedis.close();
    await redis.stop();
  });

  test('a malformed body, a bad patch or a refused increment logs the refusal but none of the payload', async () => {
    const secret = 'QZXV-payload-snippet-9f8e';
    for (const h of [hub, onRedis]) {
      const before = h.lines.length;
      await refuseAll(h, token, secret);
      const refusals = h.lines.slice(before).filter((l) => l.includes('"event":"refused"'));
      assert.ok(refusals.length >= 7, `each refusal is still logged (${refusals.length})`);
      assertNotLogged(h.lines, secret);
    }
  });

  test('a WebSocket frame that is not JSON is answered with the reason, and logged without it', async () => {
    const secret = 'WQXJ~frame~ZKVY';
    const c = new WsProbe(`ws://127.0.0.1:${hub.port}${PATH}/ws`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    await c.opened;
    c.send(`{"op":"publish","data":"${secret}`);
    const error = await c.op('error');
    assert.equal(error['code'], 'HERALD_ERR_BAD_BODY');
    await c.close();
    assertNotLogged(hub.lines, secret);
  });

  test('property: for random refused payloads, no piece of 4 characters is logged', async () => {
    // Characters no log line has on its own (no hex digits, no lowercase words), so a match
    // is a leak, not a coincidence.
    const alphabet = fc.constantFrom(...'QXZJVKWYĦжЖ漢字ẞ€'.split(''), ' ', '~', '^', '|');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: alphabet, minLength: 4, maxLength: 24 }), async (secret) => {
        await refuseAll(hub, token, secret);
        assertNotLogged(hub.lines, secret);
      }),
      { numRuns: 25 },
    );
  });
});

describe('/readyz and /metrics tell outsiders nothing about the infrastructure', () => {
  test('with Redis down, /readyz answers 503 without the broker address; the logs have it', async () => {
    const redis = await startRedis();
    const hub = await startCaptured({ redis: redis.url });
    try {
      assert.equal((await fetch(`${hub.url}/readyz`)).status, 200);
      await redis.kill();
      await eventually(
        () => !healthOf(hub.herald.hub.broker).ready,
        'the broker to notice the outage',
        10_000,
      );
      const res = await fetch(`${hub.url}/readyz`);
      const body = await res.text();
      assert.equal(res.status, 503);
      assert.equal(body, 'broker redis not ready\n');
      assert.ok(!body.includes(String(redis.port)), 'the port reached the client');
      assert.ok(
        hub.lines.some((l) => l.includes(String(redis.port))),
        'the address stays available to operators in the logs',
      );
    } finally {
      await hub.close();
      await redis.stop();
    }
  });

  test("with the state store's Redis down, /readyz answers 503 without its address, and 200 once it is back", async () => {
    const redis = await startRedis();
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    // The broker stays in memory: only the state store depends on this Redis.
    const state = createRedisStateStore(redis.url, { maxTopics: 100, maxStateBytes: 4096 }, logger);
    const hub = await startCaptured({ state });
    try {
      await eventually(() => healthOf(state).ready, 'the state store to connect', 10_000);
      assert.equal((await fetch(`${hub.url}/readyz`)).status, 200);
      await redis.kill();
      await eventually(() => !healthOf(state).ready, 'the state store to notice the outage', 10_000);
      const res = await fetch(`${hub.url}/readyz`);
      const body = await res.text();
      assert.equal(res.status, 503);
      assert.equal(body, 'state store redis not ready\n');
      assert.ok(!body.includes(String(redis.port)), 'the port reached the client');
      // Not swallowed: the outage is logged once, with the address, for operators.
      await eventually(() => lines.some((l) => l.includes('state-store-down')), 'the outage to be logged');
      assert.ok(lines.some((l) => l.includes('state-store-down') && l.includes(String(redis.port))));
      await redis.restart();
      await eventually(() => healthOf(state).ready, 'the state store to reconnect', 15_000);
      const again = await fetch(`${hub.url}/readyz`);
      assert.equal(again.status, 200);
      assert.equal(await again.text(), 'ready (memory)\n');
      assert.ok(lines.some((l) => l.includes('state-store-up')));
    } finally {
      await hub.close();
      await redis.stop();
    }
  });

  test('with --metrics-token, /metrics answers 401 without it and the metrics with it', async () => {
    const metricsToken = 'JQXZKVWY-scraper-secret';
    const hub = await startCaptured({ metricsToken });
    try {
      const anonymous = await fetch(`${hub.url}/metrics`);
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers.get('x-herald-error'), 'HERALD_ERR_UNAUTHORIZED');
      const wrong = await fetch(`${hub.url}/metrics`, { headers: { Authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401);
      const scraper = await fetch(`${hub.url}/metrics`, {
        headers: { Authorization: `Bearer ${metricsToken}` },
      });
      assert.equal(scraper.status, 200);
      assert.match(await scraper.text(), /herald_connections_active/);
      assert.ok(!hub.lines.join('\n').includes(metricsToken), 'the metrics token is never logged');
    } finally {
      await hub.close();
    }
  });
});
