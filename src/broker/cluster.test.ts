import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PublishInput, Update } from '../protocol/update.ts';
import { brokerContract } from './broker-contract.ts';
import { ClusterBroker, ClusterRelay, type ClusterLink } from './cluster.ts';
import { linkPair } from '../../test/support/link-pair.ts';
import { MemoryBroker, type MemoryBrokerOptions } from './memory.ts';

async function cluster(workers: number, historySize = 100) {
  const relay = new ClusterRelay(new MemoryBroker({ historySize, historyTtlMs: 0 }));
  await relay.start();
  const links = Array.from({ length: workers }, () => linkPair());
  // What each worker asked the primary for.
  const asked = links.map(() => [] as string[]);
  const brokers = links.map((l, i) => {
    relay.attach(l.primary);
    const counted: ClusterLink<never, unknown> = {
      send: (m) => {
        asked[i]!.push((m as { herald: string }).herald);
        l.worker.send(m);
      },
      listen: (fn) => l.worker.listen(fn),
      get connected() {
        return l.worker.connected;
      },
    };
    return new ClusterBroker(counted, { historySize, historyTtlMs: 0 });
  });
  return { relay, links, brokers, asked };
}

/** One worker on its own relay: with a history copy (as `--workers N` builds it) or without. */
async function relayedWorker(options: MemoryBrokerOptions, keepCopy: boolean): Promise<ClusterBroker> {
  const relay = new ClusterRelay(new MemoryBroker(options));
  await relay.start();
  const link = linkPair();
  relay.attach(link.primary);
  return keepCopy ? new ClusterBroker(link.worker, options) : new ClusterBroker(link.worker);
}

brokerContract('ClusterBroker (worker side of --workers, over an IPC-like link)', (options) =>
  relayedWorker(options, true),
);
brokerContract('ClusterBroker without a history copy (every resume asks the primary)', (options) =>
  relayedWorker(options, false),
);

const input = (data: string): PublishInput => ({ topics: ['https://example.com/t'], data, private: false });

describe('several workers on one relay', () => {
  test('an update published on one worker reaches every worker once, in one hub-wide order', async () => {
    const { brokers } = await cluster(3);
    const seen = brokers.map(() => [] as Update[]);
    await Promise.all(brokers.map((b, i) => b.start((u) => seen[i]!.push(u))));
    await brokers[0]!.publish([input('a'), input('b')]);
    await brokers[2]!.publish([input('c')]);
    await brokers[1]!.publish([input('d')]);
    for (const s of seen)
      assert.deepEqual(
        s.map((u) => u.data),
        ['a', 'b', 'c', 'd'],
      );
    assert.deepEqual(
      seen[0]!.map((u) => u.position),
      seen[1]!.map((u) => u.position),
    );
  });

  test('a publish resolves only after its worker dispatched the update', async () => {
    const { brokers } = await cluster(2);
    const seen: string[] = [];
    await brokers[0]!.start((u) => seen.push(u.data));
    await brokers[1]!.start(() => {});
    const [stored] = await brokers[0]!.publish([input('mine')]);
    assert.deepEqual(seen, ['mine']);
    assert.equal(stored!.data, 'mine');
  });

  test('history read on another worker already contains what any worker published, and the page arrives after those updates', async () => {
    const { brokers } = await cluster(2);
    const order: string[] = [];
    await brokers[0]!.start(() => {});
    await brokers[1]!.start((u) => order.push(`live:${u.data}`));
    const [first] = await brokers[0]!.publish([input('one')]);
    const publishing = brokers[0]!.publish([input('two')]);
    const page = await brokers[1]!.historyAfter(first!.id, 10);
    order.push('page');
    await publishing;
    assert.equal(page.found, true);
    // Whatever the page holds was dispatched on this worker before the page arrived.
    for (const u of page.updates) assert.ok(order.indexOf(`live:${u.data}`) < order.indexOf('page'));
  });

  test("a resume is answered from the worker's own copy of history, without asking the primary", async () => {
    const { brokers, asked } = await cluster(2);
    await brokers[0]!.start(() => {});
    await brokers[1]!.start(() => {});
    const [a] = await brokers[0]!.publish([input('a')]);
    await brokers[0]!.publish([input('b'), input('c')]);
    const page = await brokers[1]!.historyAfter(a!.id, 10);
    assert.equal(page.found, true);
    assert.deepEqual(
      page.updates.map((u) => u.data),
      ['b', 'c'],
    );
    assert.deepEqual(asked[1], [], 'no history request went to the primary');
  });

  test('ids from before the worker started, and earliest, are asked of the primary', async () => {
    const { brokers, asked } = await cluster(2);
    await brokers[0]!.start(() => {});
    const [a] = await brokers[0]!.publish([input('a')]);
    await brokers[0]!.publish([input('b')]);
    // Worker 1 starts listening only now: its copy begins after a and b.
    await brokers[1]!.start(() => {});
    await brokers[0]!.publish([input('c')]);
    await new Promise((r) => setImmediate(r));
    const page = await brokers[1]!.historyAfter(a!.id, 10);
    assert.deepEqual(
      page.updates.map((u) => u.data),
      ['b', 'c'],
    );
    const all = await brokers[1]!.historyAfter('earliest', 10);
    assert.deepEqual(
      all.updates.map((u) => u.data),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(asked[1], ['history', 'history']);
    const unknown = await brokers[1]!.historyAfter('urn:uuid:never-published', 10);
    assert.equal(unknown.found, false);
  });

  test('a worker cut off from the primary refuses to publish instead of hanging, and reports not ready', async () => {
    const { brokers, links } = await cluster(1);
    await brokers[0]!.start(() => {});
    links[0]!.cut();
    await assert.rejects(brokers[0]!.publish([input('x')]), /primary process is gone/);
    assert.equal(brokers[0]!.health().ready, false);
  });

  test('publishes made in one turn leave in one message, each answered with its own updates in call order', async () => {
    const { brokers, asked } = await cluster(2);
    const seen: string[] = [];
    await brokers[0]!.start((u) => seen.push(u.data));
    await brokers[1]!.start(() => {});
    const answers = await Promise.all([
      brokers[0]!.publish([input('a')]),
      brokers[0]!.publish([input('b'), input('c')]),
      brokers[0]!.publish([input('d')]),
    ]);
    assert.deepEqual(asked[0], ['publishes']);
    assert.deepEqual(
      answers.map((us) => us.map((u) => u.data)),
      [['a'], ['b', 'c'], ['d']],
    );
    assert.deepEqual(
      answers.flat().map((u) => Number(u.position)),
      [1, 2, 3, 4],
    );
    assert.deepEqual(seen, ['a', 'b', 'c', 'd'], 'dispatched before the publishes resolved');
    // A publish alone in its turn goes as it is.
    await brokers[0]!.publish([input('e')]);
    assert.deepEqual(asked[0], ['publishes', 'publish']);
  });

  test('a history request made after publishes in the same turn leaves after them and sees them', async () => {
    const { brokers, asked } = await cluster(1);
    await brokers[0]!.start(() => {});
    const published = brokers[0]!.publish([input('x')]);
    const page = await brokers[0]!.historyAfter('earliest', 10);
    assert.deepEqual(asked[0], ['publish', 'history']);
    assert.deepEqual(
      page.updates.map((u) => u.data),
      ['x'],
    );
    assert.equal((await published)[0]!.data, 'x');
  });

  test('publishes queued when the primary goes away are refused, not left hanging', async () => {
    const { brokers, links, asked } = await cluster(1);
    await brokers[0]!.start(() => {});
    const pending = [brokers[0]!.publish([input('x')]), brokers[0]!.publish([input('y')])];
    links[0]!.cut();
    for (const p of pending) await assert.rejects(p, /primary process is gone/);
    assert.deepEqual(asked[0], [], 'nothing was sent on the cut link');
  });

  test('closing a worker broker settles its pending requests with an error', async () => {
    const { brokers } = await cluster(1);
    await brokers[0]!.start(() => {});
    const pending = brokers[0]!.publish([input('x')]);
    await brokers[0]!.close();
    await assert.rejects(pending, /closed/);
  });
});
