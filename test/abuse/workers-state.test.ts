// Abuse class: acknowledged state changes lost with `--workers N` and no Redis (issue 15,
// item 11). Each worker kept its own state, so 200 acknowledged increments spread over two
// workers ended at 100 on each. The primary now owns the state: every change counts.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../../src/auth/mint.ts';
import { type HubProcess, startWorkersHub } from '../support/hub-process.ts';
import { SseConnection } from '../support/sse-client.ts';

const KEY = 'workers-state-secret-0123456789abcdef';
const PATH = '/.well-known/mercure';
const TOPIC = 'https://example.com/workers/counter';
const PATCHES = 200;

/** One patch on a fresh connection: node:cluster hands connections to the workers in turn. */
function patch(hub: HubProcess, token: string): Promise<number> {
  const body = JSON.stringify({ topics: TOPIC, patch: { $inc: { n: 1 } } });
  return new Promise((resolve, reject) => {
    const req = request(
      `${hub.url}${PATH}`,
      {
        method: 'POST',
        agent: false,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('herald serve --workers 2 without Redis: state changes go through one owner', () => {
  let hub: HubProcess;
  const open: SseConnection[] = [];
  before(async () => {
    hub = await startWorkersHub(KEY, 2, ['--anonymous']);
  });
  after(async () => {
    for (const c of open) c.close();
    await hub?.stop();
  });

  test(`${PATCHES} acknowledged increments over both workers all count, and every subscriber sees the total`, async () => {
    const token = await mintToken({ secret: KEY, publish: ['*'] });
    // Four subscribers on fresh connections: two on each worker.
    for (let i = 0; i < 4; i++) {
      const c = await SseConnection.open(`${hub.url}${PATH}?topic=${encodeURIComponent(TOPIC)}`);
      await c.live();
      open.push(c);
    }
    const statuses: number[] = [];
    // Eight publishers at a time, each patch on its own connection.
    for (let i = 0; i < PATCHES; i += 8)
      statuses.push(...(await Promise.all(Array.from({ length: 8 }, () => patch(hub, token)))));
    assert.deepEqual(new Set(statuses), new Set([200]));
    for (const c of open) {
      await c.waitFor(() => c.updates.some((u) => JSON.parse(u.data).n === PATCHES), `n = ${PATCHES}`);
      // States only move forward (two changes may reach the relay in the other order than the
      // store applied them: the older is then skipped, as its successor already contains it).
      const counts = c.updates.map((u) => (JSON.parse(u.data) as { n: number }).n);
      for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! > counts[i - 1]!, `step back at ${i}`);
      assert.ok(counts.length > PATCHES / 2, `only ${counts.length} states delivered`);
    }
    // A snapshot from whichever worker answers shows the one state.
    for (let i = 0; i < 2; i++) {
      const s = await SseConnection.open(`${hub.url}${PATH}?topic=${encodeURIComponent(TOPIC)}&snapshot=1`);
      open.push(s);
      await s.waitFor(() => s.events.some((e) => e.event === 'herald.snapshot'), 'snapshot');
      const snap = JSON.parse(s.events.find((e) => e.event === 'herald.snapshot')!.data);
      assert.deepEqual(snap.states[0].state, { n: PATCHES });
    }
  });
});
