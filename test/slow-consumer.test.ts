import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { type HubProcess, localHubArgs, startHubProcess } from './support/hub-process.ts';
import { httpRequest, SseClient } from './support/raw-http.ts';
import { WsProbe } from './support/ws-probe.ts';

const KEY = 'slow-consumer-test-secret-42';
const PATH = '/.well-known/mercure';
const BUDGET = 256 * 1024;
const BATCH = 250;
const DATA = 'x'.repeat(4096);
/** Total bytes published in a flood: far more than the budget, the kernel buffers and the bound. */
const FLOOD_BATCHES = 160; // ~160 MiB
/** How much the hub's RSS may grow while one client stops reading and the flood runs. */
const RSS_BOUND = 96 * 1024 * 1024;

/** A subscriber on a raw socket that reads the response head, then stops reading. */
class StalledReader {
  readonly socket: Socket;
  text = '';
  readonly ready: Promise<void>;

  constructor(port: number, topic: string) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.write(
      `GET ${PATH}?topic=${topic} HTTP/1.1\r\nHost: hub\r\nAccept: text/event-stream\r\n\r\n`,
    );
    this.ready = new Promise((resolve) => {
      const onData = (d: string): void => {
        this.text += d;
        if (this.text.includes('\r\n\r\n') && this.text.includes(':\n\n')) {
          this.socket.off('data', onData);
          // From here on the socket is not read: the hub's writes pile up.
          this.socket.pause();
          resolve();
        }
      };
      this.socket.on('data', onData);
    });
  }

  /** `event: herald.dropped` markers seen so far (counted as bytes arrive, not rescanned). */
  markers = 0;

  /**
   * Starts reading again and resolves once `done` holds. A regex is tested against the newest
   * bytes only (the stream is tens of MiB; rescanning it per chunk would be quadratic).
   */
  readUntil(marker: RegExp | (() => boolean), timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${String(marker)} after resuming`)), timeoutMs);
      let windowStart = Math.max(0, this.text.length - 4096);
      const check = (): void => {
        const ok = typeof marker === 'function' ? marker() : marker.test(this.text.slice(windowStart));
        if (ok) {
          clearTimeout(timer);
          this.socket.off('data', onData);
          this.socket.pause();
          resolve(this.text);
        }
      };
      const onData = (d: string): void => {
        const from = Math.max(0, this.text.length - MARKER.length + 1);
        windowStart = Math.max(0, this.text.length - 4096);
        this.text += d;
        for (let k = this.text.indexOf(MARKER, from); k !== -1; k = this.text.indexOf(MARKER, k + 1))
          this.markers++;
        check();
      };
      this.socket.on('data', onData);
      this.socket.resume();
      check();
    });
  }
}

const MARKER = 'event: herald.dropped\n';

async function scrape(hub: HubProcess): Promise<string> {
  return (await httpRequest(`${hub.url}/metrics`)).text;
}

function value(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

async function floodBatch(hub: HubProcess, token: string, topic: string): Promise<void> {
  const body = JSON.stringify(Array.from({ length: BATCH }, () => ({ topics: [topic], data: DATA })));
  const r = await httpRequest(`${hub.url}${PATH}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body,
  });
  assert.equal(r.status, 200, r.text);
}

/** Publishes a ping and returns how long the fast subscriber took to get it. */
async function pingLatency(hub: HubProcess, token: string, fast: SseClient, n: number): Promise<number> {
  const t0 = performance.now();
  const r = await httpRequest(`${hub.url}${PATH}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `topic=ping&data=${n}`,
  });
  assert.equal(r.status, 200);
  await fast.waitFor((e) => e.data === String(n), 5000, `ping ${n}`);
  return performance.now() - t0;
}

async function startHub(policy: string): Promise<HubProcess> {
  return startHubProcess([
    ...localHubArgs(KEY),
    '--anonymous',
    '--max-buffered',
    String(BUDGET),
    '--slow-consumer',
    policy,
    '--history',
    '100',
    '--max-body',
    String(4 * 1024 * 1024),
    '--heartbeat',
    '0',
    '--log-level',
    'info',
  ]);
}

describe('a subscriber that stops reading while a publisher floods', () => {
  const hubs: HubProcess[] = [];
  after(async () => {
    for (const h of hubs) h.kill();
  });

  for (const policy of ['disconnect', 'drop'] as const) {
    test(`${policy}: the hub's memory stays bounded and another subscriber keeps receiving promptly`, async () => {
      const hub = await startHub(policy);
      hubs.push(hub);
      const token = await mintToken({ secret: KEY, publish: ['*'], subject: 'flooder' });
      const fast = new SseClient(`${hub.url}${PATH}?topic=ping`);
      assert.equal(await fast.opened, 200);
      const stalled = new StalledReader(hub.port, 'flood');
      await stalled.ready;
      // Warm up (JIT, buffers) so the baseline is not the cold process.
      for (let i = 0; i < 4; i++) await floodBatch(hub, token, 'warmup');
      const baseline = hub.rss();
      let peak = baseline;
      let worstPing = 0;
      for (let i = 0; i < FLOOD_BATCHES; i++) {
        await floodBatch(hub, token, 'flood');
        peak = Math.max(peak, hub.rss());
        if (i % 10 === 0) worstPing = Math.max(worstPing, await pingLatency(hub, token, fast, i));
      }
      const growth = peak - baseline;
      console.log(
        `${policy}: rss baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, growth ${(growth / 2 ** 20).toFixed(1)} MiB, worst ping ${worstPing.toFixed(0)} ms`,
      );
      assert.ok(
        growth < RSS_BOUND,
        `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB while ~${FLOOD_BATCHES} MiB were published`,
      );
      assert.ok(worstPing < 1000, `the fast subscriber waited ${worstPing.toFixed(0)} ms for a ping`);
      const m = await scrape(hub);
      assert.equal(value(m, 'herald_connections_active{transport="sse"}'), policy === 'drop' ? 2 : 1);
      assert.equal(value(m, `herald_slow_consumer_actions_total{action="${policy}"}`) >= 1, true);
      stalled.socket.destroy();
      fast.close();
    });
  }

  test('disconnect: a merely slow client gets a final herald.slow-consumer event with retry: and its last id', async () => {
    const hub = await startHub('disconnect');
    hubs.push(hub);
    const token = await mintToken({ secret: KEY, publish: ['*'], subject: 'flooder' });
    const stalled = new StalledReader(hub.port, 'flood');
    await stalled.ready;
    for (let i = 0; i < 40; i++) {
      await floodBatch(hub, token, 'flood');
      if (value(await scrape(hub), 'herald_slow_consumer_actions_total{action="disconnect"}') === 1) break;
    }
    assert.equal(value(await scrape(hub), 'herald_slow_consumer_actions_total{action="disconnect"}'), 1);
    const text = await stalled.readUntil(/event: herald\.slow-consumer\n[\s\S]*?\n\n(?:\r\n)?0\r\n\r\n$/);
    const final = /event: herald\.slow-consumer\nretry: (\d+)\ndata: (.*)\n\n/.exec(text);
    assert.ok(final, 'final event present');
    assert.equal(final[1], '2000');
    const info = JSON.parse(final[2]!) as { lastEventId: string };
    const ids = [...text.matchAll(/^id: (.*)$/gm)].map((x) => x[1]);
    assert.equal(info.lastEventId, ids.at(-1), 'the event names the last id actually written');
    assert.equal(value(await scrape(hub), 'herald_connections_active{transport="sse"}'), 0);
    stalled.socket.destroy();
  });

  test('drop: once the socket drains the client gets herald.dropped with the count and where to resume', async () => {
    const hub = await startHub('drop');
    hubs.push(hub);
    const token = await mintToken({ secret: KEY, publish: ['*'], subject: 'flooder' });
    const stalled = new StalledReader(hub.port, 'flood');
    await stalled.ready;
    for (let i = 0; i < 30; i++) await floodBatch(hub, token, 'flood');
    await stalled.readUntil(/event: herald\.dropped\n/);
    // A sentinel goes through once the client is live again; while it is still behind, the
    // sentinel itself is dropped and the next marker says so: try again (bounded).
    let seen = false;
    for (let attempt = 0; attempt < 20 && !seen; attempt++) {
      const id = `sentinel-${attempt}`;
      const r = await httpRequest(`${hub.url}${PATH}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `topic=flood&data=after-the-gap&id=${id}`,
      });
      assert.equal(r.status, 200);
      const markersBefore = stalled.markers;
      const from = stalled.text.length;
      const text = await stalled.readUntil(
        () => stalled.markers > markersBefore || stalled.text.indexOf(`id: ${id}\n`, from) !== -1,
      );
      seen = text.includes(`id: ${id}\n`);
    }
    assert.ok(seen, 'an update published after the flood arrives normally');
    const text = stalled.text;
    const markers = [...text.matchAll(/event: herald\.dropped\ndata: (.*)\n\n/g)];
    assert.ok(markers.length >= 1);
    let total = 0;
    for (const marker of markers) {
      const info = JSON.parse(marker[1]!) as { dropped: number; lastEventId: string };
      const ids = [...text.slice(0, marker.index).matchAll(/^id: (.*)$/gm)].map((x) => x[1]);
      assert.equal(info.lastEventId, ids.at(-1), 'lastEventId is the last update written before the gap');
      assert.ok(info.dropped > 0);
      total += info.dropped;
    }
    const delivered = [...text.matchAll(/^id: /gm)].length;
    const m = await scrape(hub);
    assert.equal(value(m, 'herald_dropped_updates_total'), total);
    assert.equal(value(m, 'herald_slow_consumer_actions_total{action="drop"}'), markers.length);
    assert.equal(value(m, 'herald_deliveries_total'), delivered, 'deliveries count what was written');
    assert.equal(
      delivered + total,
      value(m, 'herald_updates_published_total'),
      'every update written or counted as dropped',
    );
    stalled.socket.destroy();
  });

  test('drop over WebSocket: once the socket drains the client gets herald.dropped, then updates again', async () => {
    const hub = await startHub('drop');
    hubs.push(hub);
    const token = await mintToken({ secret: KEY, publish: ['*'], subject: 'flooder' });
    const probe = new WsProbe(`${hub.url.replace('http', 'ws')}${PATH}/ws`, { perMessageDeflate: false });
    await probe.opened;
    probe.send({ op: 'subscribe', topics: ['flood'], ref: 1 });
    await probe.next((m) => m['op'] === 'subscribed');
    // From here on the socket is not read: the hub's frames pile up past the budget.
    probe.ws.pause();
    for (let i = 0; i < 30; i++) await floodBatch(hub, token, 'flood');
    probe.ws.resume();
    const marker = await probe.seen((m) => m['type'] === 'herald.dropped', 30_000);
    const info = marker['data'] as { dropped: number; lastEventId: string };
    assert.ok(info.dropped > 0, 'it says how many it skipped');
    const before = probe.messages.slice(0, probe.messages.indexOf(marker)).filter((m) => m['id'] !== undefined);
    assert.equal(info.lastEventId, before.at(-1)?.['id'], 'lastEventId is the last update written before the gap');
    // As over SSE: a sentinel may itself be dropped while the client is still behind; retry (bounded).
    let seen = false;
    for (let attempt = 0; attempt < 20 && !seen; attempt++) {
      const id = `ws-sentinel-${attempt}`;
      const r = await httpRequest(`${hub.url}${PATH}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `topic=flood&data=after-the-gap&id=${id}`,
      });
      assert.equal(r.status, 200);
      const got = await probe.next((m) => m['id'] === id || (m['type'] === 'herald.dropped' && m !== marker), 30_000);
      seen = got['id'] === id;
    }
    assert.ok(seen, 'an update published after the flood arrives normally');
    assert.equal(probe.ws.readyState, probe.ws.OPEN, 'the connection was kept, not cut');
    probe.ws.terminate();
  });
});
