// Exactly-once publish through the publishers (issue 18, item 3): a publish whose first
// attempt the hub stored but whose answer became a 503 on the way back (a proxy in front of a
// real hub replaces it) is retried by `herald publish` and by the SDK's publisher with the
// same Idempotency-Key, and the update is stored and delivered once, with the id the retry
// was answered. On the memory broker and on a real redis-server.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createPublisher } from '../src/client/publisher.ts';
import type { RunningHerald } from '../src/start.ts';
import { hubUrl, publishForm, publisherToken, startTestHub, subscriberToken } from './support/hub-fixture.ts';
import { runCli } from './support/hub-process.ts';
import { onEachBroker } from './support/redis-server.ts';
import { openSse } from './support/sse-events.ts';

/** What the proxy saw of each publish it forwarded. */
interface Forwarded {
  key: string | undefined;
  hubStatus: number;
  answered: number;
}

/**
 * A reverse proxy on 127.0.0.1 that forwards every request to the hub and answers the first
 * POST with a 503 (the hub's own unavailable answer, with a one-line reason) after the hub
 * answered it: the update is stored, the publisher is told it may not be.
 */
async function lossyProxy(hub: RunningHerald): Promise<{ url: string; seen: Forwarded[]; server: Server }> {
  const seen: Forwarded[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'idempotency-key']) {
        const v = req.headers[name];
        if (typeof v === 'string') headers[name] = v;
      }
      const upstream = await fetch(`${hub.url}${req.url}`, {
        method: req.method!,
        headers,
        ...(req.method === 'POST' ? { body: new Uint8Array(body) } : {}),
      });
      const text = await upstream.text();
      if (req.method !== 'POST') {
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'text/plain',
        });
        res.end(text);
        return;
      }
      const first = seen.length === 0;
      const answered = first ? 503 : upstream.status;
      seen.push({ key: headers['idempotency-key'], hubStatus: upstream.status, answered });
      if (first) {
        res.writeHead(503, {
          'content-type': 'text/plain',
          'x-herald-error': 'HERALD_ERR_BROKER_UNAVAILABLE',
          'retry-after': '1',
        });
        res.end('broker unavailable; retry shortly\n');
      } else {
        res.writeHead(upstream.status, { 'content-type': 'text/plain' });
        res.end(text);
      }
    })().catch((e: unknown) => {
      res.writeHead(502).end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function publishedTotal(hub: RunningHerald): Promise<number> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const m = /^herald_updates_published_total (\d+)/m.exec(text);
  assert.ok(m, 'herald_updates_published_total is exported');
  return Number(m[1]);
}

onEachBroker((broker, config) => {
  describe(`a publish stored but answered 503 is retried once, on the ${broker} broker`, () => {
    let hub: RunningHerald;
    let token: string;
    before(async () => {
      hub = await startTestHub(config());
      token = await publisherToken();
    });
    after(() => hub.close());

    /** Publishes through `send`, then checks the hub stored and delivered it exactly once. */
    async function exactlyOnce(topic: string, data: string, send: (proxyUrl: string) => Promise<string>) {
      const proxy = await lossyProxy(hub);
      const watcher = await openSse(
        hubUrl(hub, `?topic=${encodeURIComponent(topic)}`),
        await subscriberToken(),
      );
      try {
        const before = await publishedTotal(hub);
        const id = await send(proxy.url);
        assert.equal(proxy.seen.length, 2, 'one retry');
        assert.deepEqual(
          proxy.seen.map((s) => [s.hubStatus, s.answered]),
          [
            [200, 503],
            [200, 200],
          ],
          'the first attempt was stored, then answered 503',
        );
        assert.ok(proxy.seen[0]!.key, 'the first attempt carried an Idempotency-Key');
        assert.equal(proxy.seen[1]!.key, proxy.seen[0]!.key, 'the retry carried the same key');
        assert.equal(
          (
            await publishForm(
              hub,
              [
                ['topic', topic],
                ['data', 'marker'],
              ],
              token,
            )
          ).status,
          200,
        );
        await watcher.waitFor((e) => e.data === 'marker');
        assert.deepEqual(
          watcher.events.filter((e) => e.data === data).map((e) => e.id),
          [id],
          'delivered once, with the id the retry was answered',
        );
        assert.equal(await publishedTotal(hub), before + 2, 'stored and counted once (plus the marker)');
      } finally {
        watcher.close();
        await new Promise((r) => proxy.server.close(r));
      }
    }

    test('herald publish retries with the same Idempotency-Key: stored and delivered once', async () => {
      const topic = `https://example.com/retry/cli/${broker}`;
      await exactlyOnce(topic, 'cli-once', async (proxyUrl) => {
        const r = await runCli(['publish', topic, 'cli-once', '--url', proxyUrl, '--token', token]);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout.trim();
      });
    });

    test('the SDK publisher retries with the same Idempotency-Key: stored and delivered once', async () => {
      const topic = `https://example.com/retry/sdk/${broker}`;
      await exactlyOnce(topic, 'sdk-once', async (proxyUrl) => {
        const publisher = createPublisher({
          url: `${proxyUrl}${hub.config.path}`,
          token,
          backoff: { initialMs: 10 },
        });
        try {
          return await publisher.publish(topic, 'sdk-once');
        } finally {
          await publisher.close();
        }
      });
    });
  });
});
