// `herald serve --workers 2`, one node, one view: `/metrics` scraped through any worker shows
// the whole node, herald.stats reflect every worker, and --max-connections counts the
// connections of all workers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { STATS_TOPIC } from '../src/protocol/update.ts';
import { type HubProcess, listening, localHubArgs, startHubProcess } from './support/hub-process.ts';
import { SseConnection } from './support/sse-client.ts';

const KEY = 'node-view-test-secret-0123456789abcdef';
const PATH = '/.well-known/mercure';
const TOPIC = 'https://example.com/node-view';
const CAP = 4;

/** One sample of the Prometheus text: `name{labels} value` (labels as written, or none). */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n'))
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return undefined;
}

describe('herald serve --workers 2: one node, one view', () => {
  let hub: HubProcess;
  let publisher: string;
  const open: SseConnection[] = [];
  before(async () => {
    hub = await startHubProcess([
      ...localHubArgs(KEY),
      '--anonymous',
      '--workers',
      '2',
      '--max-connections',
      String(CAP),
      '--log-level',
      'info',
    ]);
    await listening(hub, 2);
    publisher = await mintToken({ secret: KEY, publish: ['*'] });
  });
  after(() => {
    for (const c of open) c.close();
    hub.kill();
  });

  const metrics = async (): Promise<string> => {
    const res = await fetch(`${hub.url}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  };
  /** Scrapes (bounded) until the node's connection count, as every worker sees it, is `n`. */
  const nodeConnections = async (n: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    let last: number | undefined;
    while ((last = sample(await metrics(), 'herald_node_connections')) !== n) {
      if (Date.now() > deadline) throw new Error(`herald_node_connections stayed ${last}, wanted ${n}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const subscribe = async (url: string, headers: Record<string, string> = {}): Promise<SseConnection> => {
    const c = await SseConnection.open(url, headers);
    open.push(c);
    return c;
  };

  test('every scrape of /metrics, whichever worker answers, shows the totals of both workers', async () => {
    const admin = await mintToken({ secret: KEY, subscribe: [STATS_TOPIC], admin: true });
    const stats = await subscribe(`${hub.url}${PATH}?topic=${encodeURIComponent(STATS_TOPIC)}`, {
      Authorization: `Bearer ${admin}`,
    });
    assert.equal(stats.status, 200);
    const subs: SseConnection[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await subscribe(`${hub.url}${PATH}?topic=${encodeURIComponent(TOPIC)}`);
      await c.live();
      subs.push(c);
    }
    for (const data of ['one', 'two']) {
      const res = await fetch(`${hub.url}${PATH}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${publisher}` },
        body: new URLSearchParams({ topic: TOPIC, data }),
      });
      assert.equal(res.status, 200);
    }
    for (const c of subs) await c.waitForUpdates(2);

    // Scrapes are spread over the workers (new connection each): all agree on node totals.
    for (let i = 0; i < 8; i++) {
      const text = await metrics();
      assert.equal(sample(text, 'herald_connections_active{transport="sse"}'), 3, text);
      assert.equal(sample(text, 'herald_updates_published_total'), 2);
      assert.equal(sample(text, 'herald_deliveries_total'), 4);
      assert.equal(sample(text, 'herald_broker_up{kind="cluster"}'), 1);
    }

    // The dashboard's stats stream: the whole node's numbers, from both processes.
    await stats.waitFor(
      () =>
        stats.events.some((e) => {
          if (e.event !== 'herald.stats') return false;
          const s = JSON.parse(e.data) as {
            processes?: number;
            connections: { total: number };
            totals: { published: number; delivered: number };
          };
          return (
            s.processes === 2 &&
            s.connections.total === 3 &&
            s.totals.published === 2 &&
            s.totals.delivered === 4
          );
        }),
      'a herald.stats event with both workers in it',
    );
  });

  test('--max-connections counts the connections of every worker', async () => {
    await nodeConnections(3);
    const fourth = await subscribe(`${hub.url}${PATH}?topic=${encodeURIComponent(TOPIC)}`);
    assert.equal(fourth.status, 200);
    await nodeConnections(CAP);
    // Round-robin hands these to both workers; each holds fewer than CAP on its own.
    for (let i = 0; i < 2; i++) {
      const refused = await subscribe(`${hub.url}${PATH}?topic=${encodeURIComponent(TOPIC)}`);
      assert.equal(refused.status, 429);
    }
    fourth.close();
    await nodeConnections(CAP - 1);
    const again = await subscribe(`${hub.url}${PATH}?topic=${encodeURIComponent(TOPIC)}`);
    assert.equal(again.status, 200);
  });
});
