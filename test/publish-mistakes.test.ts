// The two publish mistakes a newcomer makes first, answered with what to change.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningHerald } from '../src/start.ts';
import { hubUrl, publisherToken, publishJson, startTestHub } from './support/hub-fixture.ts';

let hub: RunningHerald;
let token: string;
before(async () => {
  hub = await startTestHub();
  token = await publisherToken();
});
after(() => hub.close());

test('a JSON body sent as form data (curl -d) is told to use Content-Type: application/json', async () => {
  for (const body of ['{"topic":"https://example.com/a","data":"x"}', '  [{"topics":["t"]}]']) {
    const res = await fetch(hubUrl(hub), {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-herald-error'), 'HERALD_ERR_BAD_BODY');
    assert.match(await res.text(), /looks like JSON.*Content-Type: application\/json/);
  }
});

test('a form body without a topic still says the topic is missing', async () => {
  const res = await fetch(hubUrl(hub), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'data=hello',
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /at least one topic/);
});

test('a JSON publish with an unknown field is refused, naming the field', async () => {
  const res = await publishJson(hub, { topics: ['https://example.com/a'], payload: { n: 1 } }, token);
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('x-herald-error'), 'HERALD_ERR_BAD_BODY');
  assert.match(res.body, /unknown field "payload"/);
  const batch = await publishJson(hub, [{ topics: ['t'], data: 'ok' }, { topics: ['t'], dat: 'x' }], token);
  assert.equal(batch.status, 400);
  assert.match(batch.body, /^update 1: unknown field "dat"/);
  const good = await publishJson(hub, { topics: ['t'], data: { n: 1 }, type: 't', private: false }, token);
  assert.equal(good.status, 200, good.body);
});
