import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningHerald } from '../src/start.ts';
import { SseConnection } from './support/sse-client.ts';
import {
  hubUrl,
  publishForm,
  publishJson,
  publisherToken,
  startTestHub,
  subscriberToken,
} from './support/hub-fixture.ts';

describe('Mercure over SSE: publish and subscribe', () => {
  let hub: RunningHerald;
  let pub: string;
  const open: SseConnection[] = [];
  const subscribe = async (query: string, headers: Record<string, string> = {}) => {
    const c = await SseConnection.open(hubUrl(hub, query), headers);
    open.push(c);
    return c;
  };

  before(async () => {
    hub = await startTestHub({ anonymous: true });
    pub = await publisherToken();
  });
  after(async () => {
    for (const c of open) c.close();
    await hub.close();
  });

  test('a subscription answers with event-stream headers that keep proxies from buffering, then a first comment', async () => {
    const c = await subscribe('?topic=https://example.com/a');
    assert.equal(c.status, 200);
    assert.match(String(c.headers['content-type']), /^text\/event-stream/);
    assert.equal(c.headers['x-accel-buffering'], 'no');
    assert.match(String(c.headers['cache-control']), /no-cache/);
    await c.live();
  });

  test('a form-encoded update reaches an exact-topic subscriber with id, event, retry and multi-line data', async () => {
    const c = await subscribe('?topic=https://example.com/books/1');
    await c.live();
    const res = await publishForm(
      hub,
      [
        ['topic', 'https://example.com/books/1'],
        ['data', 'line one\nline two\r\nline three'],
        ['id', 'urn:test:1'],
        ['type', 'book-updated'],
        ['retry', '2500'],
      ],
      pub,
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(res.body, 'urn:test:1');
    await c.waitForUpdates(1);
    assert.deepEqual(c.updates[0], {
      id: 'urn:test:1',
      event: 'book-updated',
      data: 'line one\nline two\nline three',
    });
    assert.match(
      c.body,
      /event: book-updated\nretry: 2500\nid: urn:test:1\ndata: line one\ndata: line two\ndata: line three\n\n/,
    );
  });

  test('the hub generates a unique urn:uuid id when none is given', async () => {
    const a = await publishForm(
      hub,
      [
        ['topic', 'https://example.com/x'],
        ['data', '1'],
      ],
      pub,
    );
    const b = await publishForm(
      hub,
      [
        ['topic', 'https://example.com/x'],
        ['data', '2'],
      ],
      pub,
    );
    assert.match(a.body, /^urn:uuid:[0-9a-f-]{36}$/);
    assert.notEqual(a.body, b.body);
  });

  test('an update is delivered to subscribers of its alternate topics, once even when several selectors match', async () => {
    const c = await subscribe('?topic=https://example.com/alt&topic=https://example.com/canon&topic=*');
    await c.live();
    const res = await publishForm(
      hub,
      [
        ['topic', 'https://example.com/canon'],
        ['topic', 'https://example.com/alt'],
        ['data', 'both'],
      ],
      pub,
    );
    await c.waitForUpdates(1);
    await publishForm(
      hub,
      [
        ['topic', 'https://example.com/alt'],
        ['data', 'marker'],
      ],
      pub,
    );
    await c.waitFor(() => c.updates.some((u) => u.data === 'marker'), 'marker');
    assert.equal(c.updates.filter((u) => u.id === res.body).length, 1);
  });

  test('URI template selectors match the topics they describe and nothing else', async () => {
    const c = await subscribe(`?topic=${encodeURIComponent('https://example.com/users/{id}/books/{book}')}`);
    await c.live();
    await publishForm(
      hub,
      [
        ['topic', 'https://example.com/users/42/books/7'],
        ['data', 'match'],
      ],
      pub,
    );
    await publishForm(
      hub,
      [
        ['topic', 'https://example.com/users/42/cars/7'],
        ['data', 'no-match'],
      ],
      pub,
    );
    await publishForm(
      hub,
      [
        ['topic', 'https://example.com/users/4/2/books/7'],
        ['data', 'no-match-slash'],
      ],
      pub,
    );
    await publishForm(
      hub,
      [
        ['topic', 'https://example.com/users/1/books/2'],
        ['data', 'end'],
      ],
      pub,
    );
    await c.waitForUpdates(2);
    assert.deepEqual(
      c.updates.map((u) => u.data),
      ['match', 'end'],
    );
  });

  test('the * selector receives every public update', async () => {
    const c = await subscribe('?topic=*');
    await c.live();
    await publishForm(
      hub,
      [
        ['topic', 'urn:anything'],
        ['data', 'x'],
      ],
      pub,
    );
    await c.waitForUpdates(1);
    assert.equal(c.updates[0]!.data, 'x');
  });

  test('JSON publish accepts one update, or an array as one batch, and answers the ids one per line', async () => {
    const c = await subscribe('?topic=https://example.com/json');
    await c.live();
    const one = await publishJson(
      hub,
      { topics: ['https://example.com/json'], data: { n: 1 }, id: 'j-1', type: 'obj' },
      pub,
    );
    assert.equal(one.status, 200);
    assert.equal(one.body, 'j-1');
    const batch = await publishJson(
      hub,
      [2, 3, 4].map((n) => ({ topics: ['https://example.com/json'], data: String(n), id: `j-${n}` })),
      pub,
    );
    assert.equal(batch.status, 200);
    assert.deepEqual(batch.body.split('\n'), ['j-2', 'j-3', 'j-4']);
    await c.waitForUpdates(4);
    assert.deepEqual(
      c.updates.map((u) => u.data),
      ['{"n":1}', '2', '3', '4'],
    );
    assert.equal(c.updates[0]!.event, 'obj');
  });

  test('private updates reach only subscribers whose token covers one of their topics', async () => {
    const anon = await subscribe('?topic=https://example.com/secret/{id}');
    const allowed = await subscribe('?topic=https://example.com/secret/{id}', {
      Authorization: `Bearer ${await subscriberToken(['https://example.com/secret/1'])}`,
    });
    const other = await subscribe('?topic=https://example.com/secret/{id}', {
      Authorization: `Bearer ${await subscriberToken(['https://example.com/secret/2'])}`,
    });
    await Promise.all([anon.live(), allowed.live(), other.live()]);
    await publishForm(
      hub,
      [
        ['topic', 'https://example.com/secret/1'],
        ['data', 'private'],
        ['private', 'on'],
      ],
      pub,
    );
    await publishForm(
      hub,
      [
        ['topic', 'https://example.com/secret/1'],
        ['data', 'public'],
      ],
      pub,
    );
    await Promise.all([anon.waitForUpdates(1), allowed.waitForUpdates(2), other.waitForUpdates(1)]);
    assert.deepEqual(
      allowed.updates.map((u) => u.data),
      ['private', 'public'],
    );
    assert.deepEqual(
      anon.updates.map((u) => u.data),
      ['public'],
    );
    assert.deepEqual(
      other.updates.map((u) => u.data),
      ['public'],
    );
  });

  test('a private update also reaches a subscriber granted only its alternate topic', async () => {
    const c = await subscribe('?topic=https://example.com/books/{id}', {
      Authorization: `Bearer ${await subscriberToken(['https://example.com/users/foo/{?topic}'])}`,
    });
    await c.live();
    await publishForm(
      hub,
      [
        ['topic', 'https://example.com/books/9'],
        ['topic', 'https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F9'],
        ['data', 'for foo'],
        ['private', ''],
      ],
      pub,
    );
    await c.waitForUpdates(1);
    assert.equal(c.updates[0]!.data, 'for foo');
  });
});

describe('bad requests get a status and a one-line reason', () => {
  let hub: RunningHerald;
  let pub: string;
  before(async () => {
    hub = await startTestHub({ anonymous: false });
    pub = await publisherToken(['https://example.com/allowed/{+rest}']);
  });
  after(() => hub.close());

  const cases: [string, () => Promise<{ status: number; body: string }>, number, RegExp][] = [
    [
      'publish without a token',
      () => publishForm(hub, [['topic', 'https://example.com/allowed/a']]),
      401,
      /requires a JWT/,
    ],
    [
      'publish with a garbage token',
      () => publishForm(hub, [['topic', 'x']], 'not.a.jwt'),
      401,
      /malformed|rejected/,
    ],
    [
      'publish to a topic the claim does not cover',
      () =>
        publishForm(
          hub,
          [
            ['topic', 'https://example.com/other'],
            ['data', 'x'],
          ],
          pub,
        ),
      403,
      /may not publish to topic "https:\/\/example.com\/other"/,
    ],
    ['publish with no topic', () => publishForm(hub, [['data', 'x']], pub), 400, /at least one topic/],
    [
      'publish with an id starting with #',
      () =>
        publishForm(
          hub,
          [
            ['topic', 'https://example.com/allowed/a'],
            ['id', '#1'],
          ],
          pub,
        ),
      400,
      /id must not start with "#"/,
    ],
    [
      'publish with a newline in type',
      () =>
        publishForm(
          hub,
          [
            ['topic', 'https://example.com/allowed/a'],
            ['type', 'a\nid: x'],
          ],
          pub,
        ),
      400,
      /type contains a control character/,
    ],
    [
      'publish with a non-numeric retry',
      () =>
        publishForm(
          hub,
          [
            ['topic', 'https://example.com/allowed/a'],
            ['retry', '10s'],
          ],
          pub,
        ),
      400,
      /retry must be a non-negative integer/,
    ],
    ['publish malformed JSON', () => publishJson(hub, '{"topics":', pub), 400, /not valid JSON/],
    [
      'publish JSON with topics of the wrong type',
      () => publishJson(hub, { topics: 5, data: 'x' }, pub),
      400,
      /"topics" must be an array of strings/,
    ],
    [
      'publish JSON with private not a boolean',
      () => publishJson(hub, { topics: ['https://example.com/allowed/a'], private: 'yes' }, pub),
      400,
      /"private" must be a boolean/,
    ],
    ['publish an empty JSON batch', () => publishJson(hub, [], pub), 400, /at least one update/],
    [
      'subscribe without a token on a hub that needs one',
      () => get(hub, '?topic=x'),
      401,
      /subscribing requires a JWT/,
    ],
  ];
  for (const [name, run, status, reason] of cases) {
    test(`${name} → ${status}`, async () => {
      const res = await run();
      assert.equal(res.status, status);
      assert.match(res.body, reason);
      assert.equal(res.body.trim().split('\n').length, 1, 'reason is one line');
    });
  }

  test('subscribe with no topic, a malformed template or too many selectors → 400 naming the problem', async () => {
    const auth = { Authorization: `Bearer ${await subscriberToken()}` };
    assert.deepEqual(await getStatus(hub, '', auth), [400, 'missing "topic" (draft-07) or "match" (draft-08) parameter']);
    const [s1, r1] = await getStatus(hub, `?topic=${encodeURIComponent('https://x/{id')}`, auth);
    assert.equal(s1, 400);
    assert.match(r1, /unclosed "\{"/);
    const many = Array.from({ length: 101 }, (_, i) => `topic=t${i}`).join('&');
    assert.deepEqual(await getStatus(hub, `?${many}`, auth), [
      400,
      'at most 100 topic selectors per subscription',
    ]);
  });

  test('a publish body over the cap → 413', async () => {
    const res = await publishForm(
      hub,
      [
        ['topic', 'https://example.com/allowed/a'],
        ['data', 'x'.repeat(1024 * 1024 + 10)],
      ],
      pub,
    );
    assert.equal(res.status, 413);
    assert.match(res.body, /larger than/);
  });

  test('an unsupported content type → 415, an unknown route → 404, a wrong method → 405', async () => {
    const res = await fetch(hubUrl(hub), {
      method: 'POST',
      headers: { Authorization: `Bearer ${pub}`, 'Content-Type': 'text/xml' },
      body: '<x/>',
    });
    assert.equal(res.status, 415);
    assert.equal((await fetch(`${hub.url}/nope`)).status, 404);
    assert.equal((await fetch(hubUrl(hub), { method: 'PUT' })).status, 405);
  });
});

async function get(hub: RunningHerald, query: string, headers: Record<string, string> = {}) {
  const res = await fetch(hubUrl(hub, query), { headers });
  return { status: res.status, body: await res.text() };
}

async function getStatus(
  hub: RunningHerald,
  query: string,
  headers: Record<string, string> = {},
): Promise<[number, string]> {
  const r = await get(hub, query, headers);
  return [r.status, r.body.trim()];
}
