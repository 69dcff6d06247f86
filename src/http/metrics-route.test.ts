import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import type { HeraldExchange, ReplyBody } from './exchange.ts';
import { metricsRoute, type MetricsSource } from './metrics-route.ts';

/** The parts of an exchange the route reads, and what it answered. */
function exchange(path: string, method = 'GET', authorization?: string) {
  const reply: { status?: number; headers?: Record<string, string>; body?: ReplyBody } = {};
  const ex = {
    method,
    url: new URL(`http://hub${path}`),
    header: (name: string) => (name === 'authorization' ? authorization : undefined),
    respond(status: number, headers: Record<string, string>, body?: ReplyBody) {
      Object.assign(reply, { status, headers, body });
    },
  } as unknown as HeraldExchange;
  return { ex, reply };
}

function registry(): MetricsSource {
  const r = new Registry();
  new Counter({ name: 'herald_test_total', help: 'a test counter', registers: [r] }).inc(3);
  return { text: () => r.metrics(), contentType: r.contentType };
}

test('GET {path} answers the Prometheus text; other paths and methods are left to other routes', async () => {
  const route = metricsRoute(registry(), '/metrics');
  const { ex, reply } = exchange('/metrics');
  assert.equal(await route(ex), true);
  assert.equal(reply.status, 200);
  assert.match(String(reply.body), /^herald_test_total 3$/m);
  assert.equal(reply.headers?.['Cache-Control'], 'no-store');
  assert.equal(await route(exchange('/metricsx').ex), false);
  assert.equal(await route(exchange('/metrics', 'POST').ex), false);
});

test('with a token, only the matching bearer gets the metrics; anyone else a 401', async () => {
  const route = metricsRoute(registry(), '/metrics', 'scrape-secret');
  const ok = exchange('/metrics', 'GET', 'Bearer scrape-secret');
  assert.equal(await route(ok.ex), true);
  assert.equal(ok.reply.status, 200);
  for (const auth of [undefined, 'Bearer wrong', 'Bearer scrape-secret2', 'scrape-secret']) {
    const bad = exchange('/metrics', 'GET', auth);
    await assert.rejects(
      Promise.resolve(route(bad.ex)),
      (e: unknown) => (e as { status?: number }).status === 401,
      `refused: ${auth}`,
    );
    assert.equal(bad.reply.status, undefined, 'nothing was answered');
  }
});
