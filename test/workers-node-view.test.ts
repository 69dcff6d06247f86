// `herald serve --workers 2`, one node, one view: `/metrics` scraped through any worker shows
// the whole node, herald.stats reflect every worker, and --max-connections counts the
// connections of all workers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { STATS_TOPIC } from '../src/protocol/stats.ts';
import { type HubProcess, startWorkersHub } from './support/hub-process.ts';
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
    hub = await startWorkersHub(KEY, 2, ['--anonymous', '--max-connections', String(CAP)]);
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
            connections: { total: number; monitors: number };
            totals: { published: number; delivered: number };
          };
          return (
            s.processes === 2 &&
            // The stats subscriber itself is a monitor, counted apart.
            s.connections.total === 2 &&
            s.connections.monitors === 1 &&
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

describe('herald serve --workers 2 --subscriptions (no Redis): one subscriptions API for the node', () => {
  let hub: HubProcess;
  const open: SseConnection[] = [];
  before(async () => {
    hub = await startWorkersHub(KEY, 2, ['--subscriptions']);
  });
  after(() => {
    for (const c of open) c.close();
    hub.kill();
  });

  test("the API on either worker lists both workers' subscribers; a SIGKILLed worker's leave the list", async () => {
    const watch = await mintToken({ secret: KEY, subscribe: [`${PATH}/subscriptions{/topic}{/subscriber}`] });
    const list = async (): Promise<string[]> => {
      const res = await fetch(`${hub.url}${PATH}/subscriptions`, {
        headers: { Authorization: `Bearer ${watch}` },
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { subscriptions: { topic: string; payload?: { user: string } }[] };
      return body.subscriptions
        .filter((s) => s.topic === TOPIC)
        .map((s) => s.payload!.user)
        .sort();
    };
    const users = ['u0', 'u1', 'u2', 'u3'];
    for (const user of users) {
      const token = await mintToken({ secret: KEY, subscribe: [TOPIC], payload: { user } });
      const c = await SseConnection.open(`${hub.url}${PATH}?topic=${encodeURIComponent(TOPIC)}`, {
        Authorization: `Bearer ${token}`,
      });
      assert.equal(c.status, 200);
      await c.live();
      open.push(c);
    }
    // Each request is a new connection, so they are spread over both workers.
    const deadline = Date.now() + 10_000;
    let agreeing = 0;
    while (agreeing < 6) {
      if ((await list()).join() === users.join()) agreeing++;
      else if (Date.now() > deadline) assert.deepEqual(await list(), users);
    }

    const workers = readFileSync(`/proc/${hub.child.pid}/task/${hub.child.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    assert.equal(workers.length, 2);
    process.kill(workers[0]!, 'SIGKILL');
    // The killed worker's subscribers lose their stream; the others stay and stay listed.
    const cut = open.map((c, i) => [c, users[i]!] as const);
    await eventuallyAsync(async () => {
      const alive = cut.filter(([c]) => !c.ended).map(([, u]) => u);
      return alive.length < users.length && (await list()).join() === alive.sort().join();
    }, "the killed worker's subscribers gone from the API");
  });
});

async function eventuallyAsync(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('herald serve --workers 2: per-IP, per-subject and per-selector caps count every worker', () => {
  const PER_IP = 3;
  const PER_SUBJECT = 2;
  const PER_SELECTOR = 2;
  let hub: HubProcess;
  const open: SseConnection[] = [];
  before(async () => {
    hub = await startWorkersHub(KEY, 2, [
      '--anonymous',
      '--max-connections-per-ip',
      String(PER_IP),
      '--max-connections-per-subject',
      String(PER_SUBJECT),
      '--max-subscribers-per-selector',
      String(PER_SELECTOR),
    ]);
  });
  after(() => {
    for (const c of open) c.close();
    hub.kill();
  });

  /**
   * Waits (bounded) until both workers count `n` connections on the node. The per-key counts
   * travel in the same message as the connection count, before it, so from then on every
   * worker also knows the others' per-key counts.
   */
  const nodeConnections = async (n: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    let last: number | undefined;
    for (;;) {
      const text = await (await fetch(`${hub.url}/metrics`)).text();
      if ((last = sample(text, 'herald_node_connections')) === n) return;
      if (Date.now() > deadline) throw new Error(`herald_node_connections stayed ${last}, wanted ${n}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const subscribe = async (topic: string, token?: string): Promise<SseConnection> => {
    const c = await SseConnection.open(
      `${hub.url}${PATH}?topic=${encodeURIComponent(topic)}`,
      token ? { Authorization: `Bearer ${token}` } : {},
    );
    open.push(c);
    return c;
  };
  /** Admits exactly `cap` (one at a time, each known to both workers), then refuses on both workers. */
  const exactlyCap = async (
    cap: number,
    next: (i: number) => Promise<SseConnection>,
    reason: RegExp,
  ): Promise<SseConnection[]> => {
    const admitted: SseConnection[] = [];
    for (let i = 0; i < cap; i++) {
      const c = await next(i);
      assert.equal(c.status, 200, `connection ${i + 1} of ${cap}`);
      admitted.push(c);
      await nodeConnections(i + 1);
    }
    // Round-robin hands these to both workers; each holds fewer than `cap` on its own.
    for (let i = 0; i < 4; i++) {
      const refused = await next(cap + i);
      assert.equal(refused.status, 429, `attempt ${i + 1} beyond the cap`);
      assert.equal(refused.headers['x-herald-error'], 'HERALD_ERR_TOO_MANY_CONNECTIONS');
      assert.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After');
      await refused.waitForEnd();
      assert.match(refused.body, reason);
      assert.equal(refused.body.trim().split('\n').length, 1, 'the reason is one line');
    }
    return admitted;
  };
  const closeAll = async (cs: SseConnection[]): Promise<void> => {
    for (const c of cs) c.close();
    await nodeConnections(0);
  };

  test('--max-connections-per-ip admits exactly that many from one address across both workers', async () => {
    const admitted = await exactlyCap(
      PER_IP,
      (i) => subscribe(`${TOPIC}/ip/${i}`),
      new RegExp(`too many connections from this address \\(limit ${PER_IP}\\)`),
    );
    // A connection that ends frees its place on the node.
    admitted[0]!.close();
    await nodeConnections(PER_IP - 1);
    const again = await subscribe(`${TOPIC}/ip/again`);
    assert.equal(again.status, 200);
    await closeAll([...admitted, again]);
  });

  test('--max-connections-per-subject counts one subject across both workers', async () => {
    const alice = await mintToken({ secret: KEY, subscribe: ['*'], subject: 'alice' });
    const admitted = await exactlyCap(
      PER_SUBJECT,
      (i) => subscribe(`${TOPIC}/subject/${i}`, alice),
      new RegExp(`too many connections for this subject \\(limit ${PER_SUBJECT}\\)`),
    );
    await closeAll(admitted);
  });

  test('--max-subscribers-per-selector counts one selector across both workers', async () => {
    const admitted = await exactlyCap(
      PER_SELECTOR,
      () => subscribe(`${TOPIC}/selector`),
      new RegExp(`too many subscribers to selector .* \\(limit ${PER_SELECTOR}\\)`),
    );
    await closeAll(admitted);
  });
});
