import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corsHeaders, isOriginAllowed } from './cors.ts';
import type { HeaderSource } from './exchange.ts';
import { decodeUtf8, extractToken, requestIdFrom } from './request.ts';
import { subscribeParams } from './subscribe-params.ts';

const headers = (h: Record<string, string>): HeaderSource => ({ header: (name) => h[name] });
const url = (q = '') => new URL(`http://hub/.well-known/mercure${q}`);

test('the token: Authorization header, then the draft-07 query parameter, then the cookie of the dialect first', () => {
  const both = 'mercureAuthorization=old; __Secure-mercure_access_token=new';
  assert.deepEqual(
    extractToken(
      headers({ authorization: 'Bearer abc', cookie: both }),
      url('?authorization=q'),
      'mercureAuthorization',
    ),
    {
      token: 'abc',
      source: 'header',
    },
  );
  assert.deepEqual(extractToken(headers({ cookie: both }), url('?authorization=q'), 'mercureAuthorization'), {
    token: 'q',
    source: 'query',
  });
  assert.equal(extractToken(headers({ cookie: both }), url(), 'mercureAuthorization').token, 'old');
  assert.equal(
    extractToken(headers({ cookie: both }), url(), 'mercureAuthorization', { draft08: true }).token,
    'new',
  );
  assert.deepEqual(extractToken(headers({}), url(), 'mercureAuthorization'), { source: 'none' });
});

test('a malformed header, or a token in a draft-08 URL, is refused rather than ignored', () => {
  assert.throws(
    () => extractToken(headers({ authorization: 'Basic abc' }), url(), 'c'),
    /must be "Bearer <token>"/,
  );
  assert.throws(
    () => extractToken(headers({}), url('?authorization=t'), 'c', { draft08: true }),
    (e: unknown) =>
      (e as { status?: number }).status === 400 && /may not carry a token in the URL/.test(String(e)),
  );
});

test('bodies are strict UTF-8 and request ids are echoed only when they are plain tokens', () => {
  assert.equal(decodeUtf8(new TextEncoder().encode('заказ')), 'заказ');
  assert.throws(
    () => decodeUtf8(new Uint8Array([0xff, 0xfe])),
    (e: unknown) => (e as { status?: number }).status === 400,
  );
  assert.equal(requestIdFrom('abc-123'), 'abc-123');
  const fresh = requestIdFrom('evil\r\nheader: x');
  assert.match(fresh, /^[0-9a-f-]{36}$/, 'a fresh UUID instead of the control characters');
});

test('subscribe parameters: draft-08 when a match parameter or last_event_id is present, unknown match* names refused', () => {
  const p = subscribeParams(new URLSearchParams('topic=/a&match=/b&match_urlpattern=/c/:id&last_event_id=7'));
  assert.deepEqual(p, {
    topics: ['/a'],
    matchers: [
      { match: '/b', type: 'exact' },
      { match: '/c/:id', type: 'urlpattern' },
    ],
    lastEventId: '7',
    draft08: true,
  });
  const q = subscribeParams(new URLSearchParams('topic=/a&lastEventID=3'));
  assert.equal(q.draft08, false);
  assert.equal(q.lastEventId, '3');
  const merged = subscribeParams(
    new URLSearchParams('match=/q'),
    new URLSearchParams('match=/b&last_event_id=9'),
  );
  assert.deepEqual(
    merged.matchers.map((m) => m.match),
    ['/q', '/b'],
    'a QUERY body adds to the query string',
  );
  assert.equal(merged.lastEventId, '9');
  assert.throws(
    () => subscribeParams(new URLSearchParams('match_regex=.*')),
    /unknown matcher parameter "match_regex"/,
  );
});

test('CORS: listed origins get credentials, * gets none, the null origin never, and the answer varies by Origin', () => {
  const listed = corsHeaders(headers({ origin: 'https://app' }), ['https://app']);
  assert.equal(listed['Access-Control-Allow-Origin'], 'https://app');
  assert.equal(listed['Access-Control-Allow-Credentials'], 'true');
  const star = corsHeaders(headers({ origin: 'https://other' }), ['*']);
  assert.equal(star['Access-Control-Allow-Origin'], '*');
  assert.equal(star['Access-Control-Allow-Credentials'], undefined);
  assert.deepEqual(corsHeaders(headers({ origin: 'null' }), ['*']), { Vary: 'Origin' });
  assert.deepEqual(corsHeaders(headers({ origin: 'https://evil' }), ['https://app']), { Vary: 'Origin' });
  assert.deepEqual(corsHeaders(headers({ origin: 'https://app' }), []), {}, 'no list, no CORS');
  assert.equal(isOriginAllowed('null', ['*']), false);
  assert.equal(isOriginAllowed(undefined, ['*']), false);
  assert.equal(isOriginAllowed('https://x', ['*']), true);
});
