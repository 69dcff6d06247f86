import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import { mintAccessToken, mintToken, type MintDetail } from '../src/auth/mint.ts';
import type { RunningHerald } from '../src/start.ts';
import { httpRequest, rawExchange } from './support/raw-http.ts';
import { SseConnection } from './support/sse-client.ts';
import { TEST_KEY, hubUrl, publishForm, startTestHub } from './support/hub-fixture.ts';

const HUB = 'https://hub.test/.well-known/mercure';
const ISSUER = 'https://issuer.test';
const METADATA = `https://hub.test/.well-known/oauth-protected-resource/.well-known/mercure`;

const grant = (actions: MintDetail['actions'], ...topics: MintDetail['topics']): MintDetail => ({
  actions,
  topics,
});
const access = (details: MintDetail[], extra: Partial<Parameters<typeof mintAccessToken>[0]> = {}) =>
  mintAccessToken({ secret: TEST_KEY, issuer: ISSUER, audience: HUB, details, ...extra });
const sign = (header: Record<string, unknown>, claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', ...header })
    .sign(new TextEncoder().encode(TEST_KEY));
const future = () => Math.floor(Date.now() / 1000) + 600;
const allDetails = [grant(['publish', 'subscribe'], { match: '*' })];

function q(params: [string, string][]): string {
  return `?${new URLSearchParams(params).toString()}`;
}

async function publish08(hub: RunningHerald, fields: [string, string][]) {
  return publishForm(hub, fields, await access(allDetails));
}

describe('two dialects on one hub', () => {
  let hub: RunningHerald;
  before(async () => {
    hub = await startTestHub({
      anonymous: true,
      hubUrl: HUB,
      tokenIssuers: [ISSUER],
      subscriptions: true,
    });
  });
  after(() => hub.close());

  test('match compares bytes: a {x} in it is a character, not a template (topic= keeps templates)', async () => {
    const template = 'https://example.net/foo/{x}';
    const exact = await SseConnection.open(hubUrl(hub, q([['match', template]])));
    const old = await SseConnection.open(hubUrl(hub, q([['topic', template]])));
    await Promise.all([exact.live(), old.live()]);
    assert.equal(
      (
        await publish08(hub, [
          ['topic', 'https://example.net/foo/abc'],
          ['data', 'a'],
        ])
      ).status,
      200,
    );
    assert.equal(
      (
        await publish08(hub, [
          ['topic', template],
          ['data', 'literal'],
        ])
      ).status,
      200,
    );
    await old.waitForUpdates(2);
    await exact.waitForUpdates(1);
    assert.deepEqual(
      exact.updates.map((e) => e.data),
      ['literal'],
      'match= received only the topic equal to its bytes',
    );
    assert.deepEqual(
      old.updates.map((e) => e.data),
      ['a', 'literal'],
    );
    exact.close();
    old.close();
  });

  test('match_urlpattern alone subscribes (no "missing topic"), absolute and relative to the hub URL', async () => {
    const abs = await SseConnection.open(
      hubUrl(hub, q([['match_urlpattern', 'https://example.net/books/:id']])),
    );
    const rel = await SseConnection.open(hubUrl(hub, q([['match_urlpattern', '/books/:id']])));
    assert.equal(abs.status, 200);
    assert.equal(rel.status, 200);
    await Promise.all([abs.live(), rel.live()]);
    await publish08(hub, [
      ['topic', 'https://example.net/books/1'],
      ['data', 'abs'],
    ]);
    await publish08(hub, [
      ['topic', 'https://example.net/books/1/chapters'],
      ['data', 'deeper'],
    ]);
    await publish08(hub, [
      ['topic', '/books/7'],
      ['data', 'relative topic'],
    ]);
    await publish08(hub, [
      ['topic', 'https://hub.test/books/8'],
      ['data', 'absolute on the hub origin'],
    ]);
    await abs.waitForUpdates(1);
    await rel.waitForUpdates(2);
    assert.deepEqual(
      abs.updates.map((e) => e.data),
      ['abs'],
    );
    assert.deepEqual(
      rel.updates.map((e) => e.data),
      ['relative topic', 'absolute on the hub origin'],
    );
    abs.close();
    rel.close();
  });

  test('unknown match* parameters, malformed or costly URL patterns and Cf characters are 400', async () => {
    const bad: [string, string][][] = [
      [['matchx', 'a']],
      [['MATCH', 'a']],
      [['match_regex', 'a']],
      [['Match_Exact', 'a']],
      [['match_urlpattern', 'not a (pattern']],
      [['match_urlpattern', 'https://example.net/:a-:b']],
      [['match_urlpattern', 'https://example.net/(a+)+b']],
      [['match_urlpattern', 'https://example.net/*/x/*/y/*']],
      [['match', 'https://example.net/\u200bfoo']],
      [['match_urlpattern', 'https://example.net/\u202e/:id']],
      [['topic', 'a\u2066b']],
    ];
    for (const params of bad) {
      const res = await fetch(hubUrl(hub, q(params)));
      assert.equal(res.status, 400, JSON.stringify(params));
      assert.equal(res.headers.get('x-herald-error'), 'HERALD_ERR_BAD_SELECTOR', JSON.stringify(params));
      assert.match(await res.text(), /\S/);
    }
    // An unrelated parameter is still ignored.
    const ok = await SseConnection.open(
      hubUrl(
        hub,
        q([
          ['match', 'x'],
          ['foo', 'bar'],
        ]),
      ),
    );
    assert.equal(ok.status, 200);
    ok.close();
  });

  test('topics, ids and types with Unicode format characters are refused on publish', async () => {
    const cases: [string, string][][] = [
      [
        ['topic', 'https://example.net/\u200b'],
        ['data', 'x'],
      ],
      [
        ['topic', 'https://example.net/ok'],
        ['id', 'id-\u202e'],
        ['data', 'x'],
      ],
      [
        ['topic', 'https://example.net/ok'],
        ['type', 'ev\ufeff'],
        ['data', 'x'],
      ],
    ];
    for (const fields of cases) {
      const res = await publish08(hub, fields);
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.match(res.body, /Unicode format \(Cf\)/);
    }
    const forged = await publish08(hub, [
      ['topic', 'https://example.net/ok'],
      ['type', 'mercure'],
      ['data', 'x'],
    ]);
    assert.equal(forged.status, 400);
  });

  test('a draft-08 access token publishes and reads private updates through its authorization_details', async () => {
    const sub = await access([
      grant(['subscribe'], { match: 'https://example.net/users/42/*', match_type: 'urlpattern' }),
    ]);
    const reader = await SseConnection.open(
      hubUrl(hub, q([['match_urlpattern', 'https://example.net/books/:id']])),
      { Authorization: `Bearer ${sub}` },
    );
    assert.equal(reader.status, 200);
    await reader.live();
    const pub = await access([
      grant(
        ['publish'],
        { match: 'https://example.net/books/:id', match_type: 'urlpattern' },
        { match: 'https://example.net/users/42/books/1' },
      ),
    ]);
    const send = (fields: [string, string][]) => publishForm(hub, fields, pub);
    // Not granted on any of its topics: not delivered.
    assert.equal(
      (
        await send([
          ['topic', 'https://example.net/books/2'],
          ['data', 'hidden'],
          ['private', ''],
        ])
      ).status,
      200,
    );
    // Granted through the alternate topic.
    assert.equal(
      (
        await send([
          ['topic', 'https://example.net/books/1'],
          ['topic', 'https://example.net/users/42/books/1'],
          ['data', 'shown'],
          ['private', 'on'],
        ])
      ).status,
      200,
    );
    await reader.waitForUpdates(1);
    assert.deepEqual(
      reader.updates.map((e) => e.data),
      ['shown'],
    );
    // Publishing outside the grant: 403 insufficient_scope, nothing dispatched.
    const denied = await send([
      ['topic', 'https://example.net/books/1'],
      ['topic', 'https://example.net/other'],
      ['data', 'no'],
    ]);
    assert.equal(denied.status, 403);
    assert.equal(
      denied.headers.get('www-authenticate'),
      `Bearer realm="herald", error="insufficient_scope", resource_metadata="${METADATA}"`,
    );
    assert.equal(denied.headers.get('x-herald-error'), 'HERALD_ERR_FORBIDDEN_TOPIC');
    reader.close();
  });

  test('access tokens must be at+jwt from a trusted iss, for this aud, with exp; bad ones are 401 invalid_token', async () => {
    const details = allDetails.map((d) => ({ type: 'https://mercure.rocks/authorization-detail', ...d }));
    const base = { iss: ISSUER, aud: HUB, exp: future(), authorization_details: details };
    const cases: [string, string, RegExp][] = [
      ['no iss', await sign({ typ: 'at+jwt' }, { ...base, iss: undefined }), /no iss/],
      ['untrusted iss', await sign({ typ: 'at+jwt' }, { ...base, iss: 'https://evil.test' }), /not trusted/],
      [
        'other aud',
        await sign({ typ: 'at+jwt' }, { ...base, aud: 'https://other.test/.well-known/mercure' }),
        /aud/,
      ],
      ['no exp', await sign({ typ: 'at+jwt' }, { ...base, exp: undefined }), /exp/],
      [
        'expired',
        await sign({ typ: 'at+jwt' }, { ...base, exp: Math.floor(Date.now() / 1000) - 10 }),
        /expired/,
      ],
      [
        'wrong key for the issuer',
        await new SignJWT(base)
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
          .sign(new TextEncoder().encode('another-secret-entirely-000')),
        /signature/,
      ],
      [
        'detail without actions',
        await sign(
          { typ: 'at+jwt' },
          { ...base, authorization_details: [{ type: details[0]!.type, topics: [{ match: '*' }] }] },
        ),
        /actions/,
      ],
      [
        'unknown match_type',
        await sign(
          { typ: 'at+jwt' },
          {
            ...base,
            authorization_details: [
              { type: details[0]!.type, actions: ['publish'], topics: [{ match: 'x', match_type: 'regex' }] },
            ],
          },
        ),
        /match_type/,
      ],
      [
        'a good detail beside a malformed one',
        await sign(
          { typ: 'at+jwt' },
          {
            ...base,
            authorization_details: [
              ...details,
              { type: details[0]!.type, actions: [1], topics: [{ match: '*' }] },
            ],
          },
        ),
        /actions/,
      ],
      [
        'malformed URL pattern in a grant',
        await sign(
          { typ: 'application/AT+JWT' },
          {
            ...base,
            authorization_details: [
              {
                type: details[0]!.type,
                actions: ['publish'],
                topics: [{ match: '/:a-:b', match_type: 'urlpattern' }],
              },
            ],
          },
        ),
        /backtracking/,
      ],
    ];
    for (const [name, token, reason] of cases) {
      const res = await publishForm(
        hub,
        [
          ['topic', 'https://example.net/x'],
          ['data', 'x'],
        ],
        token,
      );
      assert.equal(res.status, 401, name);
      assert.equal(
        res.headers.get('www-authenticate'),
        `Bearer realm="herald", error="invalid_token", resource_metadata="${METADATA}"`,
        name,
      );
      assert.match(res.body, reason, name);
      assert.ok(res.headers.get('x-herald-error')?.startsWith('HERALD_ERR_'), name);
    }
    // Unknown actions grant nothing and do not invalidate the token.
    const odd = await sign(
      { typ: 'at+jwt' },
      {
        ...base,
        authorization_details: [
          { type: details[0]!.type, actions: ['teleport'], topics: [{ match: '*' }] },
          { type: 'urn:other', whatever: 1 },
        ],
      },
    );
    assert.equal(
      (
        await publishForm(
          hub,
          [
            ['topic', 'https://example.net/x'],
            ['data', 'x'],
          ],
          odd,
        )
      ).status,
      403,
    );
  });

  test('no token: 401 with a challenge that has no error but points at the metadata', async () => {
    const res = await publishForm(hub, [
      ['topic', 'https://example.net/x'],
      ['data', 'x'],
    ]);
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get('www-authenticate'),
      `Bearer realm="herald", resource_metadata="${METADATA}"`,
    );
    assert.match(res.body, /requires a JWT/);
  });

  test('a malformed Bearer header is 400 invalid_request; another scheme is 401 without an error code', async () => {
    const tok = await access(allDetails);
    const invalidRequest = `Bearer realm="herald", error="invalid_request", resource_metadata="${METADATA}"`;
    const malformed = [
      'Bearer',
      'Bearer ',
      `Bearer ${tok} ${tok}`,
      `Bearer ${tok}, Bearer ${tok}`,
      `Bearer\t${tok}`,
      `Bearer "${tok}"`,
    ];
    for (const authorization of malformed) {
      for (const url of [hubUrl(hub, q([['topic', 'x']])), hubUrl(hub, q([['match', 'x']]))]) {
        const res = await httpRequest(url, { headers: { Authorization: authorization } });
        assert.equal(res.status, 400, authorization);
        assert.equal(res.headers['www-authenticate'], invalidRequest, authorization);
        assert.equal(res.headers['x-herald-error'], 'HERALD_ERR_BAD_REQUEST');
        assert.equal(res.text, 'malformed Authorization header: expected "Bearer" and exactly one token\n');
      }
      const pub = await httpRequest(hubUrl(hub), {
        method: 'POST',
        headers: { Authorization: authorization, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'topic=x&data=y',
      });
      assert.equal(pub.status, 400, authorization);
      assert.equal(pub.headers['www-authenticate'], invalidRequest);
    }
    // Two Authorization headers: node:http would keep the first; the hub sees both and refuses.
    const port = new URL(hub.url).port;
    const two = await rawExchange(
      Number(port),
      `GET /.well-known/mercure?topic=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tok}\r\n` +
        `Authorization: Bearer ${tok}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(two.status, 400);
    assert.match(two.text, /error="invalid_request"/);
    // RFC 6750 section 3.1: an unsupported scheme presents no token, so no error code.
    const basic = await httpRequest(hubUrl(hub, q([['match', 'x']])), {
      headers: { Authorization: 'Basic dXNlcjpwYXNz' },
    });
    assert.equal(basic.status, 401);
    assert.equal(basic.headers['www-authenticate'], `Bearer realm="herald", resource_metadata="${METADATA}"`);
    assert.equal(basic.headers['x-herald-error'], 'HERALD_ERR_UNAUTHORIZED');
    // The scheme name is case-insensitive (RFC 9110), and a well-formed header still works.
    const ok = await SseConnection.open(hubUrl(hub, q([['match', 'x']])), { Authorization: `bEaReR ${tok}` });
    assert.equal(ok.status, 200);
    ok.close();
  });

  test('draft-08 requests may not carry a token in the URL (400 invalid_request); draft-07 ones still may', async () => {
    const tok08 = await access(allDetails);
    const tok07 = await mintToken({ secret: TEST_KEY, subscribe: ['*'] });
    for (const url of [
      hubUrl(
        hub,
        q([
          ['match', 'x'],
          ['authorization', tok07],
        ]),
      ),
      hubUrl(
        hub,
        q([
          ['topic', 'x'],
          ['authorization', tok08],
        ]),
      ),
    ]) {
      const res = await fetch(url);
      assert.equal(res.status, 400);
      assert.equal(
        res.headers.get('www-authenticate'),
        `Bearer realm="herald", error="invalid_request", resource_metadata="${METADATA}"`,
      );
    }
    const old = await SseConnection.open(
      hubUrl(
        hub,
        q([
          ['topic', 'x'],
          ['authorization', tok07],
        ]),
      ),
    );
    assert.equal(old.status, 200);
    old.close();
  });

  test('the __Secure-mercure_access_token cookie carries an access token; the mercureAuthorization cookie a draft-07 one', async () => {
    const T = 'https://example.net/cookie';
    const tok08 = await access([grant(['subscribe'], { match: T })]);
    const tok07 = await mintToken({ secret: TEST_KEY, subscribe: [T] });
    const viaNew = await SseConnection.open(hubUrl(hub, q([['match', T]])), {
      Cookie: `__Secure-mercure_access_token=${tok08}`,
    });
    const viaOld = await SseConnection.open(hubUrl(hub, q([['topic', T]])), {
      Cookie: `mercureAuthorization=${tok07}`,
    });
    const anon = await SseConnection.open(hubUrl(hub, q([['match', T]])));
    await Promise.all([viaNew.live(), viaOld.live(), anon.live()]);
    await publish08(hub, [
      ['topic', T],
      ['data', 'private'],
      ['private', 'on'],
    ]);
    await publish08(hub, [
      ['topic', T],
      ['data', 'public'],
    ]);
    await Promise.all([viaNew.waitForUpdates(2), viaOld.waitForUpdates(2), anon.waitForUpdates(1)]);
    assert.deepEqual(
      anon.updates.map((e) => e.data),
      ['public'],
    );
    assert.deepEqual(
      viaNew.updates.map((e) => e.data),
      ['private', 'public'],
    );
    for (const c of [viaNew, viaOld, anon]) c.close();
  });

  test('QUERY carries matchers in a form body, merged with the query string', async () => {
    const res = await fetch(
      hubUrl(
        hub,
        q([
          ['match', 'https://example.net/q1'],
          ['last_event_id', 'earliest'],
        ]),
      ),
      {
        method: 'QUERY',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams([
          ['match_urlpattern', 'https://example.net/q2/:id'],
          ['last_event_id', 'ignored: the query wins'],
        ]).toString(),
      },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('mercure-last-event-id'), 'earliest');
    const reader = res.body!.getReader();
    await publish08(hub, [
      ['topic', 'https://example.net/q1'],
      ['data', 'one'],
    ]);
    await publish08(hub, [
      ['topic', 'https://example.net/q2/9'],
      ['data', 'two'],
    ]);
    let text = '';
    const decoder = new TextDecoder();
    while (!(text.includes('data: one') && text.includes('data: two'))) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'stream ended early');
      text += decoder.decode(value);
    }
    await reader.cancel();
    const bad = await fetch(hubUrl(hub), {
      method: 'QUERY',
      body: 'matchy=1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(bad.status, 400);
  });

  test('the protected-resource metadata is served where RFC 9728 puts it', async () => {
    const res = await fetch(`${hub.url}/.well-known/oauth-protected-resource/.well-known/mercure`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      resource: HUB,
      authorization_details_types_supported: ['https://mercure.rocks/authorization-detail'],
      bearer_methods_supported: ['header'],
      mercure_cookie: '__Secure-mercure_access_token',
      mercure_matcher_types_supported: ['exact', 'urlpattern'],
      mercure_subscriptions: true,
    });
  });

  test('subscription events and API: draft-08 shape for match= subscriptions and access tokens, JSON-LD for topic= and draft-07 tokens', async () => {
    const watch08 = await access([
      grant(
        ['subscribe'],
        { match: '/.well-known/mercure/subscriptions/:type/:match/:sub', match_type: 'urlpattern' },
        {
          match: '/.well-known/mercure/subscriptions{/*}?',
          match_type: 'urlpattern',
        },
      ),
    ]);
    const watcher08 = await SseConnection.open(
      hubUrl(hub, q([['match_urlpattern', '/.well-known/mercure/subscriptions/:type/:match/:sub']])),
      { Authorization: `Bearer ${watch08}` },
    );
    const watch07 = await mintToken({
      secret: TEST_KEY,
      subscribe: ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'],
    });
    const watcher07 = await SseConnection.open(
      hubUrl(hub, q([['topic', '/.well-known/mercure/subscriptions/{topic}/{subscriber}']])),
      { Authorization: `Bearer ${watch07}` },
    );
    await Promise.all([watcher08.live(), watcher07.live()]);
    const withPayload = await access([
      {
        actions: ['subscribe'],
        topics: [{ match: 'https://example.net/p/:id', match_type: 'urlpattern' }],
        payload: { room: 'blue' },
      },
      { actions: ['subscribe'], topics: [{ match: '*' }], payload: { room: 'default' } },
    ]);
    const member = await SseConnection.open(
      hubUrl(
        hub,
        q([
          ['match_urlpattern', 'https://example.net/p/:id'],
          ['match', 'https://example.net/plain'],
          ['topic', 'https://example.net/old/{x}'],
        ]),
      ),
      { Authorization: `Bearer ${withPayload}` },
    );
    await member.live();
    // Subscription events leave coalesced, one presence interval late: the ends of the
    // previous tests' subscriptions may still arrive here, so only this member's are read.
    const memberMatches = ['https://example.net/p/:id', 'https://example.net/plain'];
    const mine = (active: boolean) =>
      watcher08.events.filter((e) => {
        if (e.event !== 'mercure') return false;
        const doc = JSON.parse(e.data) as { match: string; active: boolean };
        return memberMatches.includes(doc.match) && doc.active === active;
      });
    await watcher08.waitFor(() => mine(true).length === 2, 'two draft-08 events');
    const oldTopic = (u: { data: string }) => JSON.parse(u.data).topic === 'https://example.net/old/{x}';
    await watcher07.waitFor(() => watcher07.updates.some(oldTopic), 'the draft-07 event');
    const events = mine(true).map((e) => JSON.parse(e.data));
    const sid = events[0].subscriber as string;
    assert.deepEqual(events, [
      {
        id: `/.well-known/mercure/subscriptions/urlpattern/${encodeURIComponent('https://example.net/p/:id')}/${encodeURIComponent(sid)}`,
        type: 'subscription',
        match_type: 'urlpattern',
        match: 'https://example.net/p/:id',
        subscriber: sid,
        active: true,
        payload: { room: 'blue' },
      },
      {
        id: `/.well-known/mercure/subscriptions/exact/${encodeURIComponent('https://example.net/plain')}/${encodeURIComponent(sid)}`,
        type: 'subscription',
        match_type: 'exact',
        match: 'https://example.net/plain',
        subscriber: sid,
        active: true,
        payload: { room: 'default' },
      },
    ]);
    const old = JSON.parse(watcher07.updates.find(oldTopic)!.data);
    assert.equal(old['@context'], 'https://mercure.rocks/');
    assert.equal(old.type, 'Subscription');
    assert.equal(old.topic, 'https://example.net/old/{x}');
    assert.equal(watcher07.updates.find(oldTopic)!.event, 'message');

    const api = await fetch(
      `${hubUrl(hub)}/subscriptions/urlpattern/${encodeURIComponent('https://example.net/p/:id')}`,
      {
        headers: { Authorization: `Bearer ${watch08}` },
      },
    );
    assert.equal(api.status, 200);
    assert.equal(api.headers.get('content-type'), 'application/json');
    assert.match(
      api.headers.get('link') ?? '',
      /^<https:\/\/hub\.test\/\.well-known\/mercure>; rel="mercure"; last-event-id="[^"]+"; type="mercure"; content-type="application\/json"$/,
    );
    const body = await api.json();
    assert.equal(body.type, 'subscriptions');
    assert.deepEqual(body.subscriptions, [events[0]]);
    const api07 = await fetch(`${hubUrl(hub)}/subscriptions`, {
      headers: { Authorization: `Bearer ${watch07}` },
    });
    assert.equal(api07.status, 200);
    assert.equal(api07.headers.get('content-type'), 'application/ld+json');
    const body07 = await api07.json();
    assert.equal(body07.type, 'Subscriptions');
    assert.ok(body07.subscriptions.some((d: { topic: string }) => d.topic === 'https://example.net/old/{x}'));

    member.close();
    await watcher08.waitFor(() => mine(false).length === 2, 'the ends of both draft-08 subscriptions');
    watcher08.close();
    watcher07.close();
  });

  test('the subscriptions API lists the subscriptions of both dialects in the shape of the asker, where that shape can describe them', async () => {
    const old = await SseConnection.open(
      hubUrl(
        hub,
        q([
          ['topic', 'https://example.net/cross/a'],
          ['topic', 'https://example.net/cross/{x}'],
        ]),
      ),
    );
    const neu = await SseConnection.open(
      hubUrl(
        hub,
        q([
          ['match', 'https://example.net/cross/b'],
          ['match', 'https://example.net/cross/{y}'],
          ['match_urlpattern', 'https://example.net/cross/:id'],
        ]),
      ),
    );
    await Promise.all([old.live(), neu.live()]);
    const ask08 = await access([
      grant(['subscribe'], { match: '/.well-known/mercure/subscriptions{/*}?', match_type: 'urlpattern' }),
    ]);
    const ask07 = await mintToken({
      secret: TEST_KEY,
      subscribe: ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'],
    });
    const list = async (token: string) => {
      const res = await fetch(`${hubUrl(hub)}/subscriptions`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { subscriptions: Record<string, string>[] };
      return body.subscriptions.filter((d) => (d['match'] ?? d['topic'])!.includes('/cross/'));
    };
    const as08 = await list(ask08);
    assert.deepEqual(
      as08.map((d) => `${d['match_type']} ${d['match']}`).sort(),
      [
        'exact https://example.net/cross/a', // the draft-07 exact topic, as an exact matcher
        'exact https://example.net/cross/b',
        'exact https://example.net/cross/{y}',
        'urlpattern https://example.net/cross/:id',
      ],
      'the draft-07 URI template has no draft-08 form',
    );
    const fromOld = as08.find((d) => d['match'] === 'https://example.net/cross/a')!;
    assert.equal(fromOld['type'], 'subscription');
    assert.equal(
      fromOld['id'],
      `/.well-known/mercure/subscriptions/exact/${encodeURIComponent('https://example.net/cross/a')}/${encodeURIComponent(fromOld['subscriber']!)}`,
    );
    const as07 = await list(ask07);
    assert.deepEqual(
      as07.map((d) => d['topic']).sort(),
      ['https://example.net/cross/a', 'https://example.net/cross/b', 'https://example.net/cross/{x}'],
      'URL patterns and exact matchers with a brace have no draft-07 form',
    );
    const fromNew = as07.find((d) => d['topic'] === 'https://example.net/cross/b')!;
    assert.equal(fromNew['type'], 'Subscription');
    assert.equal(
      fromNew['id'],
      `/.well-known/mercure/subscriptions/${encodeURIComponent('https://example.net/cross/b')}/${encodeURIComponent(fromNew['subscriber']!)}`,
    );
    old.close();
    neu.close();
  });

  test('a publisher holding * cannot forge subscription events, in absolute, dot-segment or %-encoded form', async () => {
    for (const topic of [
      '/.well-known/mercure/subscriptions/exact/x/y',
      'https://hub.test/.well-known/mercure/subscriptions/x/y',
      'https://elsewhere.test/.well-known/mercure',
      '/.well-known/%6Dercure/subscriptions/x',
      '/a/../.well-known/mercure/x',
      '/.well-known/%2e%2e/.well-known/mercure/x',
      '/.well-known/herald/stats',
    ]) {
      const res = await publish08(hub, [
        ['topic', topic],
        ['data', 'forged'],
      ]);
      assert.equal(res.status, 400, topic);
      assert.match(res.body, /reserved namespace/, topic);
    }
    assert.equal(
      (
        await publish08(hub, [
          ['topic', '/.well-known/mercurex'],
          ['data', 'fine'],
        ])
      ).status,
      200,
    );
  });
});

describe('a hub at another path and with a JWK Set issuer', () => {
  let hub: RunningHerald;
  let dir: string;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-jwks-'));
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
    hub = await startTestHub({
      path: '/api/mercure',
      hubUrl: 'https://api.test/api/mercure',
      subscriptions: true,
      issuerJwks: [`https://as.test=${join(dir, 'jwks.json')}`],
      tokenIssuers: [ISSUER],
      authorizationServers: ['https://as.test', 'https://login.api.test/realms/app'],
    });
  });
  after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const edToken = (claims: Record<string, unknown>, kid = 'k1') =>
    new SignJWT({
      iss: 'https://as.test',
      aud: 'https://api.test/api/mercure',
      exp: future(),
      authorization_details: [
        {
          type: 'https://mercure.rocks/authorization-detail',
          actions: ['publish'],
          topics: [{ match: '*' }],
        },
      ],
      ...claims,
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
      .sign(privateKey);

  test('the reserved namespace follows the hub path: /api/mercure/... refused, /.well-known/... allowed', async () => {
    const tok = await edToken({});
    const send = (topic: string) =>
      publishForm(
        hub,
        [
          ['topic', topic],
          ['data', 'x'],
        ],
        tok,
      );
    assert.equal((await send('/api/mercure/subscriptions/x/y')).status, 400);
    assert.equal((await send('https://api.test/api/mercure/subscriptions/x/y')).status, 400);
    assert.equal((await send('/.well-known/mercure/subscriptions/x/y')).status, 200);
    const meta = await fetch(`${hub.url}/.well-known/oauth-protected-resource/api/mercure`);
    assert.equal(meta.status, 200);
    const doc = (await meta.json()) as Record<string, unknown>;
    assert.equal(doc['resource'], 'https://api.test/api/mercure');
    // --authorization-servers, in the order given (left out when not configured: see above).
    assert.deepEqual(doc['authorization_servers'], ['https://as.test', 'https://login.api.test/realms/app']);
  });

  test('a token is verified with the keys of its own iss only', async () => {
    // Signed by the JWKS issuer's key but claiming the HMAC issuer: refused.
    const forged = await edToken({ iss: ISSUER, aud: 'https://api.test/api/mercure' });
    const res = await publishForm(
      hub,
      [
        ['topic', 'https://example.net/x'],
        ['data', 'x'],
      ],
      forged,
    );
    assert.equal(res.status, 401);
    const unknownKid = await edToken({}, 'k2');
    assert.equal(
      (
        await publishForm(
          hub,
          [
            ['topic', 'https://example.net/x'],
            ['data', 'x'],
          ],
          unknownKid,
        )
      ).status,
      401,
    );
    const hmac = await mintAccessToken({
      secret: TEST_KEY,
      issuer: ISSUER,
      audience: 'https://api.test/api/mercure',
      details: [grant(['publish'], { match: '*' })],
    });
    assert.equal(
      (
        await publishForm(
          hub,
          [
            ['topic', 'https://example.net/x'],
            ['data', 'x'],
          ],
          hmac,
        )
      ).status,
      200,
    );
  });
});
