import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import ts from 'typescript';
import { mintToken } from '../../src/auth/mint.ts';
import { SseConnection } from '../support/sse-client.ts';
import { WsProbe } from '../support/ws-probe.ts';
import { freshApp, stopProcess, waitForOutput, type FreshApp } from './fresh-app.ts';

const KEY = 'frameworks-fresh-app-key-0123456789abcdef';
const HUB = '/hub/.well-known/mercure';
const snippet = (file: string) =>
  readFileSync(new URL(`../../docs/snippets/${file}`, import.meta.url), 'utf8');

// Starts a docs snippet's app on a free port inside the fresh app, and stops it on SIGTERM.
const runner = `const [file, name, key] = process.argv.slice(2);
const app = await (await import(file))[name](0, key);
console.log(JSON.stringify({ port: app.server.address().port }));
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
`;

describe('Herald in fresh Express and Fastify apps, installed from the tarball', () => {
  let app: FreshApp;
  before(
    async () => {
      app = await freshApp('frameworks', {
        install: ['express@5.3.0', 'fastify@5.12.8'],
        files: {
          'run.mjs': runner,
          // The Express snippet as a user would write it in JavaScript (its types stripped).
          'express-app.js': ts.transpileModule(snippet('express-app.ts'), {
            compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
          }).outputText,
          'fastify-app.js': snippet('fastify-app.js'),
        },
      });
    },
    { timeout: 300_000 },
  );
  after(() => app?.remove());

  const frameworks = [
    {
      name: 'Express',
      file: './express-app.js',
      start: 'startShop',
      route: '/orders',
      topic: 'https://shop.example/orders/{id}',
    },
    {
      name: 'Fastify',
      file: './fastify-app.js',
      start: 'startFeed',
      route: '/posts',
      topic: 'https://feed.example/posts/{id}',
    },
  ];
  for (const fw of frameworks) {
    describe(`${fw.name}: hub.handle for HTTP, hub.attach for WebSocket`, () => {
      let base: string;
      let server: ReturnType<FreshApp['start']>;
      let subToken: string;
      before(async () => {
        server = app.start(process.execPath, ['run.mjs', fw.file, fw.start, KEY]);
        const [, port] = await waitForOutput(server, /\{"port":(\d+)\}/);
        base = `http://127.0.0.1:${port}`;
        subToken = await mintToken({ secret: KEY, subscribe: ['*'] });
      });
      after(() => stopProcess(server));

      test("an app route's hub.publish reaches SSE and WebSocket subscribers", async () => {
        const sse = await SseConnection.open(`${base}${HUB}?topic=${encodeURIComponent(fw.topic)}`, {
          Authorization: `Bearer ${subToken}`,
        });
        assert.equal(sse.status, 200);
        await sse.live();
        const ws = new WsProbe(`ws://${base.slice('http://'.length)}${HUB}/ws`, {
          headers: { Authorization: `Bearer ${subToken}` },
        });
        await ws.opened;
        ws.send({ op: 'subscribe', topics: [fw.topic] });
        await ws.op('subscribed');
        const res = await fetch(`${base}${fw.route}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ id: 7, text: 'hi' }),
        });
        assert.equal(res.status, 200);
        const { updateId } = (await res.json()) as { updateId: string };
        await sse.waitForUpdates(1);
        assert.equal(sse.updates[0]!.id, updateId);
        const viaWs = await ws.update();
        assert.equal(viaWs['id'], updateId);
        sse.close();
        await ws.close();
      });

      test('HTTP publish with a token, refusals and health work on the mounted endpoint', async () => {
        const topic = fw.topic.replace('{id}', 'news');
        const sse = await SseConnection.open(`${base}${HUB}?topic=${encodeURIComponent(topic)}`, {
          Authorization: `Bearer ${subToken}`,
        });
        await sse.live();
        const publish = (token: string | undefined, body: string) =>
          fetch(`${base}${HUB}`, {
            method: 'POST',
            headers: {
              ...(token ? { Authorization: `Bearer ${token}` } : {}),
              'Content-Type': 'application/x-www-form-urlencoded',
            },
            body,
          });
        const pubToken = await mintToken({ secret: KEY, publish: [topic] });
        const ok = await publish(pubToken, `topic=${encodeURIComponent(topic)}&data=hello&id=n-1`);
        assert.equal(ok.status, 200);
        assert.equal(await ok.text(), 'n-1');
        await sse.waitForUpdates(1);
        assert.equal(sse.updates[0]!.data, 'hello');
        const anonymous = await publish(undefined, `topic=${encodeURIComponent(topic)}&data=x`);
        assert.equal(anonymous.status, 401);
        assert.equal(anonymous.headers.get('x-herald-error'), 'HERALD_ERR_UNAUTHORIZED');
        const forbidden = await publish(pubToken, 'topic=https://elsewhere.example/x&data=no');
        assert.equal(forbidden.status, 403);
        assert.equal(sse.updates.length, 1, 'refused publishes delivered nothing');
        sse.close();
        assert.equal(await (await fetch(`${base}/hub/healthz`)).text(), 'ok\n');
        assert.match(
          await (await fetch(`${base}/hub/metrics`)).text(),
          /^herald_updates_published_total [1-9]/m,
        );
      });
    });
  }
});
