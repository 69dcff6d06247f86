import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { localHubArgs, startHubProcess } from './support/hub-process.ts';
import { httpRequest, SseClient } from './support/raw-http.ts';

const KEY = 'shutdown-test-secret-000111';
const PATH = '/.well-known/mercure';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** A hub with heartbeats off (so streams carry only what the test sends) and info logs to read. */
const HUB_ARGS = [...localHubArgs(KEY), '--anonymous', '--heartbeat', '0', '--log-level', 'info'];

describe('graceful stop of `herald serve`', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal}: subscribers get herald.shutdown with retry:, streams end, the process exits 0 and stops accepting`, async () => {
      const hub = await startHubProcess(HUB_ARGS);
      try {
        const token = await mintToken({ secret: KEY, publish: ['*'] });
        const clients = [
          new SseClient(`${hub.url}${PATH}?topic=a`),
          new SseClient(`${hub.url}${PATH}?topic=*`),
        ];
        for (const c of clients) assert.equal(await c.opened, 200);
        // Accepted before the signal: delivered before the shutdown notice.
        const r = await httpRequest(`${hub.url}${PATH}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
          body: 'topic=a&data=last-before-stop&id=u1',
        });
        assert.equal(r.status, 200);
        const t0 = Date.now();
        hub.child.kill(signal);
        for (const c of clients) {
          const e = await c.waitFor((m) => m.event === 'herald.shutdown', 5000, 'herald.shutdown');
          assert.match(e.data, /reconnect/);
          await c.closed;
          assert.ok(c.ended);
          // The final event carries a retry hint, and the update came before it.
          assert.match(c.body, /event: herald\.shutdown\nretry: 2000\n/);
          assert.ok(c.body.indexOf('id: u1') < c.body.indexOf('herald.shutdown'));
        }
        assert.equal(await hub.exited, 0);
        assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
        assert.ok(await refused(hub.port), 'no longer accepting connections');
        const log = hub.logs.map(
          (l) => JSON.parse(l) as { event?: string; signal?: string; reason?: string },
        );
        assert.ok(log.some((l) => l.event === 'shutdown' && l.signal === signal));
        assert.equal(log.filter((l) => l.event === 'connection.close' && l.reason === 'shutdown').length, 2);
      } finally {
        hub.kill();
      }
    });
  }

  test('a client that does not read does not hold the stop beyond the grace period', async () => {
    const hub = await startHubProcess(HUB_ARGS);
    try {
      const s = connect(hub.port, '127.0.0.1');
      s.write(`GET ${PATH}?topic=a HTTP/1.1\r\nHost: hub\r\n\r\n`);
      await new Promise((r) => s.once('data', r));
      s.pause();
      const t0 = Date.now();
      hub.child.kill('SIGTERM');
      assert.equal(await hub.exited, 0);
      assert.ok(Date.now() - t0 < 8000);
      s.destroy();
    } finally {
      hub.kill();
    }
  });
});
