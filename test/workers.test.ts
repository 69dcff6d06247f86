import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { type HubProcess, startWorkersHub } from './support/hub-process.ts';
import { SseConnection } from './support/sse-client.ts';

const KEY = 'workers-test-secret-0123456789abcdef';
const PATH = '/.well-known/mercure';
const TOPIC = 'https://example.com/workers';

async function publish(hub: HubProcess, token: string, data: string): Promise<string> {
  const res = await fetch(`${hub.url}${PATH}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ topic: TOPIC, data }).toString(),
  });
  assert.equal(res.status, 200);
  return res.text();
}

describe('herald serve --workers 2 (memory broker relayed by the primary)', () => {
  let hub: HubProcess;
  let token: string;
  const open: SseConnection[] = [];
  before(async () => {
    hub = await startWorkersHub(KEY, 2, ['--anonymous']);
    token = await mintToken({ secret: KEY, publish: ['*'] });
  });
  after(async () => {
    for (const c of open) c.close();
    hub.kill();
  });

  test('subscribers spread over both workers all receive an update published on either', async () => {
    // Connections are handed out round-robin: four subscribers land on both workers.
    for (let i = 0; i < 4; i++) {
      const c = await SseConnection.open(`${hub.url}${PATH}?topic=${encodeURIComponent(TOPIC)}`);
      await c.live();
      open.push(c);
    }
    const ids = [await publish(hub, token, 'one'), await publish(hub, token, 'two')];
    for (const c of open) {
      await c.waitFor(() => c.updates.length === 2, 'both updates');
      assert.deepEqual(
        c.updates.map((u) => [u.id, u.data]),
        [
          [ids[0], 'one'],
          [ids[1], 'two'],
        ],
      );
    }
  });

  test('a client resuming on whichever worker gets exactly the updates after its last id', async () => {
    const first = await publish(hub, token, 'before');
    const second = await publish(hub, token, 'after-1');
    const third = await publish(hub, token, 'after-2');
    for (let i = 0; i < 2; i++) {
      const c = await SseConnection.open(`${hub.url}${PATH}?topic=${encodeURIComponent(TOPIC)}`, {
        'Last-Event-ID': first,
      });
      open.push(c);
      await c.waitFor(() => c.updates.length >= 2, 'replayed updates');
      assert.deepEqual(
        c.updates.map((u) => u.id),
        [second, third],
      );
    }
  });

  test('SIGTERM to the primary stops every worker and ends in exit code 0', async () => {
    assert.equal(await hub.stop(), 0);
    for (const c of open) await c.waitFor(() => c.ended, 'stream ended');
  });
});
