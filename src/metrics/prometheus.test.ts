import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANONYMOUS, type Principal } from '../auth/principal.ts';
import { MemoryBroker } from '../broker/memory.ts';
import { Hub } from '../hub/hub.ts';
import { SelectorSet } from '../protocol/matchers.ts';
import { RecordingSink } from '../../test/support/recording-sink.ts';
import { PrometheusMetrics } from './prometheus.ts';

const publisher: Principal = { ...ANONYMOUS, anonymous: false, publish: new SelectorSet(['*']) };

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("the hub's counters and observer events are what a scrape reads", async () => {
  const metrics = new PrometheusMetrics();
  const hub = new Hub({
    broker: new MemoryBroker({ historySize: 10, historyTtlMs: 0 }),
    heartbeatMs: 0,
    statsIntervalMs: 0,
    observer: metrics.observer,
  });
  metrics.attach(hub);
  await hub.start();
  try {
    const fast = new RecordingSink();
    const slow = new RecordingSink('ws');
    await hub.subscribe({ selectors: ['t'], principal: ANONYMOUS, sink: fast });
    await hub.subscribe({ selectors: ['t'], principal: ANONYMOUS, sink: slow });
    let text = await metrics.registry.metrics();
    assert.equal(sample(text, 'herald_connections_active{transport="sse"}'), 1);
    assert.equal(sample(text, 'herald_connections_active{transport="ws"}'), 1);

    slow.within = false;
    await hub.publish(
      [
        { topics: ['t'], data: 'a', private: false },
        { topics: ['t'], data: 'b', private: false },
      ],
      publisher,
    );
    await slow.until(() => slow.closed !== undefined, 'the slow subscriber to be disconnected');
    hub.recordRefusal('HERALD_ERR_TEST');
    text = await metrics.registry.metrics();
    assert.equal(sample(text, 'herald_updates_published_total'), 2);
    assert.equal(sample(text, 'herald_deliveries_total'), hub.counters.delivered);
    assert.equal(sample(text, 'herald_connections_active{transport="ws"}'), 0);
    assert.equal(sample(text, 'herald_disconnects_total{reason="slow-consumer"}'), 1);
    assert.equal(sample(text, 'herald_refusals_total{reason="HERALD_ERR_TEST"}'), 1);
    assert.equal(sample(text, 'herald_publish_to_deliver_seconds_count'), 2, 'one latency sample per update');
  } finally {
    await hub.close();
  }
});
