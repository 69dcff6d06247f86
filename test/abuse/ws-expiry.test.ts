import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import type { RunningHerald } from '../../src/start.ts';
import { publishJson, publisherToken, startTestHub, TEST_KEY } from '../support/hub-fixture.ts';
import { eventually } from '../support/wait.ts';
import { WsProbe, type Msg } from '../support/ws-probe.ts';

const T = 'https://example.com/secret';

/**
 * A subscriber token that expires 2 to 3 s from now, and when (ms since epoch): long enough to
 * upgrade and authenticate with it on a loaded machine, short enough to wait for.
 */
async function shortLivedToken(
  extra: { publish?: string[] } = {},
): Promise<{ token: string; expMs: number }> {
  const mercure: Record<string, unknown> = { subscribe: [T], ...extra };
  const exp = Math.ceil(Date.now() / 1000) + 2;
  const token = await new SignJWT({ mercure })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(TEST_KEY));
  return { token, expMs: exp * 1000 };
}

function leaked(c: WsProbe): Msg[] {
  return c.messages.filter(
    (m) => m['op'] === undefined || (m['op'] === 'event' && m['type'] === 'herald.snapshot'),
  );
}

describe('WebSocket ops after the token expired', () => {
  let hub: RunningHerald;
  let url: string;
  before(async () => {
    hub = await startTestHub({ anonymous: true });
    url = `ws://127.0.0.1:${hub.port}${hub.config.path}/ws`;
    const res = await publishJson(
      hub,
      [
        { topics: [T], data: 'private history', private: true },
        { topics: [T], data: '{"balance":1000}', private: true, retain: true },
      ],
      await publisherToken(),
    );
    assert.equal(res.status, 200, res.body);
  });
  after(() => hub.close());

  for (const via of ['upgrade header', 'auth frame'] as const) {
    test(`a subscribe after exp (token by ${via}) gets herald.token-expired, close 4001, and no private history or state`, async () => {
      const { token, expMs } = await shortLivedToken();
      const c = new WsProbe(
        url,
        via === 'upgrade header' ? { headers: { Authorization: `Bearer ${token}` } } : {},
      );
      await c.opened;
      if (via === 'auth frame') {
        c.send({ op: 'auth', token });
        await c.op('authenticated');
      }
      await eventually(() => Date.now() > expMs, 'the token to expire', 5000);
      c.send({ op: 'subscribe', topics: [T], lastEventId: 'earliest', snapshot: true, ref: 's1' });
      const closed = await c.closed;
      assert.equal(closed.code, 4001);
      assert.ok(
        c.messages.some((m) => m['op'] === 'event' && m['type'] === 'herald.token-expired'),
        JSON.stringify(c.messages),
      );
      assert.deepEqual(leaked(c), []);
      assert.ok(!c.messages.some((m) => m['op'] === 'subscribed'));
    });
  }

  test('an unsubscribe or publish after exp closes the same way', async () => {
    for (const frame of [
      { op: 'unsubscribe', topics: [T] },
      { op: 'publish', topics: [T], data: 'x' },
    ]) {
      const { token, expMs } = await shortLivedToken({ publish: [T] });
      const c = new WsProbe(url, { headers: { Authorization: `Bearer ${token}` } });
      await c.opened;
      await eventually(() => Date.now() > expMs, 'the token to expire', 5000);
      c.send(frame);
      assert.equal((await c.closed).code, 4001, frame.op);
      assert.ok(
        c.messages.some((m) => m['type'] === 'herald.token-expired'),
        frame.op,
      );
      assert.ok(!c.messages.some((m) => m['op'] === 'published'));
    }
  });
});
