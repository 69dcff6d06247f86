import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hubUrl, publisherToken, startTestHub } from '../support/hub-fixture.ts';
import { localHubArgs, startHubProcess } from '../support/hub-process.ts';
import { SseConnection } from '../support/sse-client.ts';
import { eventually } from '../support/wait.ts';
import { WsProbe } from '../support/ws-probe.ts';

const T = 'https://example.com/a';
const BIN = new URL('../../bin/herald.js', import.meta.url).pathname;

describe('WebSockets that never subscribe', () => {
  test('count against the connection cap from the moment they are accepted', async () => {
    const hub = await startTestHub({ anonymous: true, maxConnections: 3 });
    const url = `ws://127.0.0.1:${hub.port}${hub.config.path}/ws`;
    try {
      const idle = [new WsProbe(url), new WsProbe(url), new WsProbe(url)];
      await Promise.all(idle.map((c) => c.opened));
      assert.equal(hub.hub.admittedCount, 3);

      const fourth = new WsProbe(url);
      const refused = (await fourth.opened.then(
        () => undefined,
        (e: unknown) => e,
      )) as { status?: number } | undefined;
      assert.equal(refused?.status, 429, 'a fourth socket is refused at the upgrade');
      const sse = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(T)}`));
      assert.equal(sse.status, 429);
      assert.match(sse.body, /connection limit/);
      sse.close();

      await idle[0]!.close();
      await eventually(() => hub.hub.admittedCount === 2, 'the closed socket to give its slot back');
      const next = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(T)}`));
      assert.equal(next.status, 200);
      next.close();
      // A socket that subscribes keeps the one slot it holds: it is not counted twice.
      idle[1]!.send({ op: 'subscribe', topics: [T] });
      await idle[1]!.op('subscribed');
      await eventually(() => hub.hub.admittedCount === 2, 'the SSE slot to be released');
      await Promise.all(idle.slice(1).map((c) => c.close()));
      await eventually(() => hub.hub.admittedCount === 0, 'every slot to be released');
    } finally {
      await hub.close();
    }
  });

  test('are closed with 4408 after the subscribe deadline; subscribed and publishing sockets stay', async () => {
    const hub = await startTestHub({ anonymous: true, wsSubscribeTimeout: 1000 });
    const url = `ws://127.0.0.1:${hub.port}${hub.config.path}/ws`;
    try {
      const subscriber = new WsProbe(url);
      const publisher = new WsProbe(url, { headers: { Authorization: `Bearer ${await publisherToken()}` } });
      await Promise.all([subscriber.opened, publisher.opened]);
      subscriber.send({ op: 'subscribe', topics: [T] });
      await subscriber.op('subscribed');
      // Opened last, so its deadline is the last to pass.
      const idle = new WsProbe(url);
      await idle.opened;
      const started = Date.now();
      const closed = await idle.closed;
      assert.equal(closed.code, 4408);
      assert.match(closed.reason, /no subscription within 1000 ms/);
      assert.ok(Date.now() - started >= 800, 'not before the deadline');
      assert.equal(subscriber.ws.readyState, subscriber.ws.OPEN);
      assert.equal(publisher.ws.readyState, publisher.ws.OPEN);
      publisher.send({ op: 'publish', topics: [T], data: 'still here', ref: 1 });
      assert.equal((await subscriber.update())['data'], 'still here');
      await Promise.all([subscriber.close(), publisher.close()]);
      await eventually(() => hub.hub.admittedCount === 0, 'every slot to be released');
    } finally {
      await hub.close();
    }
  });
});

describe('the connection cap and the descriptor limit', () => {
  test('herald serve fits its default cap to ulimit -n quietly, and warns about an explicit cap above it', async () => {
    const key = 'descriptor-limit-key-0123456789abcdef';
    const shell = ['/bin/sh', '-c', 'ulimit -n 512 && exec "$0" "$@"', process.execPath, BIN];
    const over = await startHubProcess([...localHubArgs(key), '--max-connections', '20000'], {}, shell);
    const fitted = await startHubProcess(localHubArgs(key), {}, shell);
    try {
      const lines = (logs: string[]) =>
        logs.map((l) => JSON.parse(l) as { event?: string; msg: string; maxConnections?: number });
      const warned = (logs: string[]) => lines(logs).find((l) => l.event === 'descriptor-limit');
      assert.match(warned(over.logs)?.msg ?? '', /--max-connections 20000 is above the 512 open descriptors/);
      // A first run starts clean: the listening line comes first and names the fitted cap.
      assert.equal(warned(fitted.logs), undefined);
      assert.equal(lines(fitted.logs)[0]?.event, 'listening');
      assert.equal(lines(fitted.logs)[0]?.maxConnections, 512 - 64);
    } finally {
      await Promise.all([over.stop(), fitted.stop()]);
    }
  });
});
