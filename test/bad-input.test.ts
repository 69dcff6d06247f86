import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { mintToken } from '../src/auth/mint.ts';
import { type HubProcess, localHubArgs, startHubProcess } from './support/hub-process.ts';
import { httpRequest, rawExchange, SseClient } from './support/raw-http.ts';

const KEY = 'bad-input-corpus-secret-0001';
const PATH = '/.well-known/mercure';
const TICKS = 'https://example.com/ticks';

/** Deterministic bytes, so a failing case can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** A JWT with any header and payload, signed (HS256) with `secret`, or unsigned. */
function handMadeJwt(header: object, payload: object, secret?: string): string {
  const head = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (secret === undefined) return `${head}.`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

interface Case {
  name: string;
  run: () => Promise<{ status: number; code?: string | undefined }>;
  /** Acceptable statuses (the first is the expected one; more only where HTTP allows either). */
  status: number[];
  code?: string;
}

let hub: HubProcess;
let subscriber: SseClient;
let publisherToken: string;
let subscriberToken: string;

before(async () => {
  hub = await startHubProcess([
    ...localHubArgs(KEY),
    '--max-body',
    '65536',
    '--heartbeat',
    '0',
    '--log-level',
    'info',
  ]);
  publisherToken = await mintToken({ secret: KEY, publish: ['*'], subject: 'publisher' });
  subscriberToken = await mintToken({ secret: KEY, subscribe: ['*'], subject: 'watcher' });
  subscriber = new SseClient(`${hub.url}${PATH}?topic=${encodeURIComponent(TICKS)}`, {
    Authorization: `Bearer ${subscriberToken}`,
  });
  assert.equal(await subscriber.opened, 200);
});

after(() => {
  subscriber?.close();
  hub?.kill();
});

function raw(name: string, bytes: string | Uint8Array, status: number[], endAfterWrite = true): Case {
  return {
    name,
    status,
    run: () => rawExchange(hub.port, bytes, { timeoutMs: 3000, endAfterWrite }),
  };
}

function sub(
  name: string,
  query: string,
  headers: Record<string, string>,
  status: number,
  code?: string,
): Case {
  return {
    name,
    status: [status],
    ...(code ? { code } : {}),
    run: async () => {
      const c = new SseClient(`${hub.url}${PATH}?${query}`, headers);
      const s = await c.opened;
      c.close();
      return { status: s, code: c.headers['x-herald-error'] as string | undefined };
    },
  };
}

function pub(
  name: string,
  body: string,
  status: number,
  code?: string,
  headers: Record<string, string> = {},
): Case {
  return {
    name,
    status: [status],
    ...(code ? { code } : {}),
    run: async () => {
      const r = await httpRequest(`${hub.url}${PATH}`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${publisherToken}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          ...headers,
        },
        body,
      });
      return { status: r.status, code: r.headers['x-herald-error'] as string | undefined };
    },
  };
}

async function corpus(): Promise<Case[]> {
  const cases: Case[] = [];
  const rnd = prng(20260522);

  // 1. Random bytes over raw TCP.
  for (let i = 0; i < 150; i++) {
    const bytes = new Uint8Array(1 + Math.floor(rnd() * 3000));
    for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(rnd() * 256);
    cases.push(raw(`random bytes #${i} (${bytes.length} B)`, bytes, [400]));
  }
  // Random printable junk after a valid request line: header parsing must fail cleanly.
  for (let i = 0; i < 30; i++) {
    let junk = '';
    for (let k = 0; k < 200; k++) junk += String.fromCharCode(1 + Math.floor(rnd() * 126));
    cases.push(
      raw(`junk headers #${i}`, `GET ${PATH}?topic=a HTTP/1.1\r\nHost: hub\r\n${junk}\r\n\r\n`, [400, 401]),
    );
  }

  // 2. Truncated requests: cut a valid publish at every few bytes, then half-close.
  const body = 'topic=https%3A%2F%2Fexample.com%2Ft&data=hello';
  const full =
    `POST ${PATH} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${publisherToken}\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  for (let cut = 1; cut < full.length; cut += 7)
    cases.push(raw(`truncated at ${cut}`, full.slice(0, cut), [400]));

  // 3. Huge headers and URLs.
  cases.push(
    raw(
      'one 20 KiB header',
      `GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      [431],
    ),
  );
  cases.push(
    raw(
      '2000 headers of 30 bytes',
      `GET /healthz HTTP/1.1\r\nHost: hub\r\n${'X-Aaaaaaaaaaaa: bbbbbbbbbbbbbbbb\r\n'.repeat(2000)}\r\n`,
      [431],
    ),
  );
  cases.push(
    raw('20 KiB URL', `GET ${PATH}?topic=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: hub\r\n\r\n`, [431]),
  );
  cases.push(
    raw(
      '20 KiB cookie',
      `GET ${PATH}?topic=a HTTP/1.1\r\nHost: hub\r\nCookie: x=${'c'.repeat(20_000)}\r\n\r\n`,
      [431],
    ),
  );

  // 4. Header smuggling and framing attacks.
  const smuggle: [string, string][] = [
    [
      'Content-Length and Transfer-Encoding',
      `Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ],
    ['two different Content-Length', `Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef`],
    ['Content-Length list', `Content-Length: 5, 6\r\n\r\nabcdef`],
    ['negative Content-Length', `Content-Length: -1\r\n\r\n`],
    ['non-numeric Content-Length', `Content-Length: abc\r\n\r\n`],
    ['Transfer-Encoding xchunked', `Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`],
    ['Transfer-Encoding with a space before the colon', `Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`],
    ['bad chunk size', `Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`],
    ['chunk size overflow', `Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n`],
    ['obs-fold header', `X-A: a\r\n b\r\n\r\n`],
    ['CR inside a header value', `X-A: a\rb\r\n\r\n`],
    ['LF-only line endings', `X-A: a\n\n`],
    ['NUL in a header value', `X-A: a\u0000b\r\n\r\n`],
  ];
  for (const [name, rest] of smuggle)
    cases.push(raw(`smuggling: ${name}`, `POST ${PATH} HTTP/1.1\r\nHost: hub\r\n${rest}`, [400]));
  cases.push(raw('no Host header', `GET /healthz HTTP/1.1\r\n\r\n`, [400]));
  cases.push(raw('unknown method', `BREW /healthz HTTP/1.1\r\nHost: hub\r\n\r\n`, [400]));
  cases.push(raw('NUL in the path', `GET /heal\u0000thz HTTP/1.1\r\nHost: hub\r\n\r\n`, [400]));
  cases.push(raw('space in the path', `GET /heal thz HTTP/1.1\r\nHost: hub\r\n\r\n`, [400]));
  cases.push(raw('PUT on the hub', `PUT ${PATH} HTTP/1.1\r\nHost: hub\r\nContent-Length: 0\r\n\r\n`, [405]));
  cases.push(raw('unknown path', `GET /nope HTTP/1.1\r\nHost: hub\r\n\r\n`, [404]));

  // 5. Broken, forged and expired JWTs, in header, query and cookie.
  const now = Math.floor(Date.now() / 1000);
  const claims = { mercure: { subscribe: ['*'], publish: ['*'] }, sub: 'mallory' };
  const tokens: [string, string, string][] = [
    ['empty bearer', '', 'HERALD_ERR_UNAUTHORIZED'],
    ['one segment', 'abc', 'HERALD_ERR_UNAUTHORIZED'],
    ['two segments', 'abc.def', 'HERALD_ERR_UNAUTHORIZED'],
    ['four segments', 'a.b.c.d', 'HERALD_ERR_UNAUTHORIZED'],
    ['non-base64 segments', '%%%.%%%.%%%', 'HERALD_ERR_UNAUTHORIZED'],
    ['header not JSON', `${b64url('nope')}.${b64url('{}')}.sig`, 'HERALD_ERR_UNAUTHORIZED'],
    ['payload not JSON', `${b64url('{"alg":"HS256"}')}.${b64url('nope')}.sig`, 'HERALD_ERR_UNAUTHORIZED'],
    ['alg none, no signature', handMadeJwt({ alg: 'none', typ: 'JWT' }, claims), 'HERALD_ERR_UNAUTHORIZED'],
    ['alg None', handMadeJwt({ alg: 'None' }, claims), 'HERALD_ERR_UNAUTHORIZED'],
    [
      'alg none with a signature',
      handMadeJwt({ alg: 'none' }, claims, KEY).replace(/\.[^.]*$/, '.AAAA'),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    [
      'alg HS256 signed with the wrong key',
      handMadeJwt({ alg: 'HS256' }, claims, 'not-the-hub-key-123'),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    [
      'header says HS512, signed HS256',
      handMadeJwt({ alg: 'HS512' }, claims, KEY),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    [
      'alg RS256 with an HMAC signature',
      handMadeJwt({ alg: 'RS256' }, claims, KEY),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    [
      'signature stripped',
      handMadeJwt({ alg: 'HS256' }, claims, KEY).replace(/\.[^.]*$/, '.'),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    [
      'payload swapped after signing',
      (() => {
        const [h, , s] = handMadeJwt({ alg: 'HS256' }, { sub: 'x' }, KEY).split('.');
        return `${h}.${b64url(JSON.stringify(claims))}.${s}`;
      })(),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    ['expired', handMadeJwt({ alg: 'HS256' }, { ...claims, exp: now - 60 }, KEY), 'HERALD_ERR_TOKEN_EXPIRED'],
    [
      'not yet valid',
      handMadeJwt({ alg: 'HS256' }, { ...claims, nbf: now + 3600 }, KEY),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    [
      'mercure claim is a string',
      handMadeJwt({ alg: 'HS256' }, { mercure: 'all' }, KEY),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    [
      'mercure.subscribe not an array',
      handMadeJwt({ alg: 'HS256' }, { mercure: { subscribe: '*', publish: '*' } }, KEY),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    [
      'claim with a bad selector',
      handMadeJwt({ alg: 'HS256' }, { mercure: { subscribe: ['{'], publish: ['{'] } }, KEY),
      'HERALD_ERR_UNAUTHORIZED',
    ],
    [
      'exp not a number',
      handMadeJwt({ alg: 'HS256' }, { ...claims, exp: 'tomorrow' }, KEY),
      'HERALD_ERR_UNAUTHORIZED',
    ],
  ];
  const expiredByJose = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(now - 10)
    .sign(new TextEncoder().encode(KEY));
  tokens.push(['expired (jose-signed)', expiredByJose, 'HERALD_ERR_TOKEN_EXPIRED']);
  // In the Authorization header a token must be an RFC 6750 b64token: anything else (none at
  // all, `%`…) is a malformed presentation, 400 invalid_request, before any JWT parsing.
  const b64token = (t: string) => /^[A-Za-z0-9\-._~+/]+=*$/.test(t);
  for (const [name, token, code] of tokens) {
    if (token !== '') {
      cases.push(
        sub(
          `subscribe, token in header: ${name}`,
          'topic=a',
          { Authorization: `Bearer ${token}` },
          b64token(token) ? 401 : 400,
          b64token(token) ? code : 'HERALD_ERR_BAD_REQUEST',
        ),
      );
      cases.push(
        sub(
          `subscribe, token in query: ${name}`,
          `topic=a&authorization=${encodeURIComponent(token)}`,
          {},
          401,
          code,
        ),
      );
      cases.push(
        sub(
          `subscribe, token in cookie: ${name}`,
          'topic=a',
          { Cookie: `mercureAuthorization=${token}` },
          401,
          code,
        ),
      );
    }
    cases.push({
      name: `publish, token in header: ${name}`,
      status: [b64token(token) ? 401 : 400],
      code: b64token(token) ? code : 'HERALD_ERR_BAD_REQUEST',
      run: async () => {
        const r = await httpRequest(`${hub.url}${PATH}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
          body: 'topic=a&data=x',
        });
        return { status: r.status, code: r.headers['x-herald-error'] as string | undefined };
      },
    });
  }
  cases.push(
    sub(
      'Authorization scheme Basic',
      'topic=a',
      { Authorization: 'Basic dXNlcjpwYXNz' },
      401,
      'HERALD_ERR_UNAUTHORIZED',
    ),
  );
  cases.push(sub('no token and anonymous off', 'topic=a', {}, 401, 'HERALD_ERR_UNAUTHORIZED'));

  // 6. Selector injection and bad query strings (with a valid token, so the selector is what fails).
  const auth = { Authorization: `Bearer ${subscriberToken}` };
  const selectors = [
    '{',
    '}',
    '{}',
    '{{a}}',
    'a{',
    'a}b',
    '{/',
    '{+',
    '{a',
    '{a,}',
    '{#a,b',
    '{;}',
    '{?}',
    '{a:0}',
    '{a:99999}',
    '{a*b}',
    '{@a}',
    '{a}{',
    '{'.repeat(500),
    '}'.repeat(500),
    'a\u0000b',
    'a\rb',
    'a\nb',
    'a\r\nid: x',
    'a\u007fb',
    'a\u0085b',
    '\t',
    '',
  ];
  for (const s of selectors)
    cases.push(
      sub(
        `selector ${JSON.stringify(s.length > 20 ? s.slice(0, 20) + '…' : s)}`,
        `topic=${encodeURIComponent(s)}`,
        auth,
        400,
        s === '' ? 'HERALD_ERR_BAD_SELECTOR' : 'HERALD_ERR_BAD_SELECTOR',
      ),
    );
  cases.push(sub('no topic at all', 'foo=bar', auth, 400, 'HERALD_ERR_MISSING_TOPIC'));
  cases.push(sub('percent-escape that is not hex', 'topic=%ZZ', auth, 400, 'HERALD_ERR_BAD_REQUEST'));
  cases.push(sub('invalid UTF-8 in the query', 'topic=%C3%28', auth, 400, 'HERALD_ERR_BAD_REQUEST'));
  cases.push(
    sub('UTF-16 surrogate encoded as UTF-8', 'topic=%ED%A0%80', auth, 400, 'HERALD_ERR_BAD_REQUEST'),
  );
  cases.push(
    sub(
      'Last-Event-ID with a line break',
      'topic=a&lastEventID=a%0D%0Aevent%3A%20x',
      auth,
      400,
      'HERALD_ERR_BAD_ID',
    ),
  );
  cases.push(
    sub(
      'Last-Event-ID of 10 KiB',
      `topic=a&lastEventID=${'i'.repeat(10_000)}`,
      auth,
      400,
      'HERALD_ERR_BAD_ID',
    ),
  );

  // 7. CR/LF and other bad fields on publish.
  const fields: [string, string, string][] = [
    ['CR/LF in id', 'topic=t&id=a%0D%0Aevent%3A%20evil', 'HERALD_ERR_BAD_ID'],
    ['LF in id', 'topic=t&id=a%0Ab', 'HERALD_ERR_BAD_ID'],
    ['NUL in id', 'topic=t&id=a%00b', 'HERALD_ERR_BAD_ID'],
    ['CR in type', 'topic=t&type=a%0Db', 'HERALD_ERR_BAD_TYPE'],
    ['LF in type', 'topic=t&type=a%0Adata%3A%20x', 'HERALD_ERR_BAD_TYPE'],
    ['reserved type', 'topic=t&type=herald.shutdown', 'HERALD_ERR_BAD_TYPE'],
    ['LF in topic', 'topic=a%0Ab', 'HERALD_ERR_BAD_TOPIC'],
    ['topic *', 'topic=*', 'HERALD_ERR_BAD_TOPIC'],
    ['no topic', 'data=x', 'HERALD_ERR_MISSING_TOPIC'],
    ['retry with letters', 'topic=t&retry=10s', 'HERALD_ERR_BAD_RETRY'],
    ['retry negative', 'topic=t&retry=-5', 'HERALD_ERR_BAD_RETRY'],
    ['retry huge', 'topic=t&retry=99999999999999999999', 'HERALD_ERR_BAD_RETRY'],
    ['id starting with #', 'topic=t&id=%23x', 'HERALD_ERR_BAD_ID'],
    ['id earliest', 'topic=t&id=earliest', 'HERALD_ERR_BAD_ID'],
    ['invalid percent-escape', 'topic=t&data=%E0%A4', 'HERALD_ERR_BAD_REQUEST'],
  ];
  for (const [name, b, code] of fields) cases.push(pub(`publish ${name}`, b, 400, code));
  cases.push({
    name: 'publish raw invalid UTF-8 bytes',
    status: [400],
    code: 'HERALD_ERR_BAD_BODY',
    run: async () => {
      const r = await httpRequest(`${hub.url}${PATH}`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${publisherToken}`,
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body: Buffer.from([0x74, 0x6f, 0x70, 0x69, 0x63, 0x3d, 0xff, 0xfe]),
      });
      return { status: r.status, code: r.headers['x-herald-error'] as string | undefined };
    },
  });
  const json = (name: string, b: string, code: string) =>
    cases.push(pub(`JSON ${name}`, b, 400, code, { 'Content-Type': 'application/json' }));
  json('truncated', '{"topics":["t"],"data":', 'HERALD_ERR_BAD_BODY');
  json('id with CR/LF', JSON.stringify({ topics: ['t'], id: 'a\r\nb' }), 'HERALD_ERR_BAD_ID');
  json('type with LF', JSON.stringify({ topics: ['t'], type: 'a\nb' }), 'HERALD_ERR_BAD_TYPE');
  json('id as object', JSON.stringify({ topics: ['t'], id: { $ne: 1 } }), 'HERALD_ERR_BAD_ID');
  json('deeply nested', '['.repeat(100_00) + ']'.repeat(100_00), 'HERALD_ERR_BAD_BODY');
  json(
    '__proto__ pollution',
    '{"__proto__":{"admin":true},"topics":["t"],"private":"x"}',
    'HERALD_ERR_BAD_BODY',
  );
  cases.push(
    pub('unsupported content type', 'x', 415, 'HERALD_ERR_UNSUPPORTED_MEDIA_TYPE', {
      'Content-Type': 'text/xml',
    }),
  );
  cases.push(
    pub('body over the cap', 'topic=t&data=' + 'x'.repeat(70_000), 413, 'HERALD_ERR_BODY_TOO_LARGE'),
  );
  return cases;
}

test('hundreds of malformed requests are each refused with the right status, and the hub keeps serving', async () => {
  const cases = await corpus();
  assert.ok(cases.length >= 300, `corpus has ${cases.length} cases`);
  const wrong: string[] = [];
  let ticks = 0;
  const tick = async (): Promise<void> => {
    const n = ++ticks;
    const r = await httpRequest(`${hub.url}${PATH}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${publisherToken}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: `topic=${encodeURIComponent(TICKS)}&data=tick-${n}`,
    });
    assert.equal(r.status, 200, `tick ${n} refused: ${r.text}`);
    await subscriber.waitFor((e) => e.data === `tick-${n}`, 3000, `tick ${n}`);
  };
  // Cases run a few at a time, with a tick between batches that the subscriber must receive.
  for (let i = 0; i < cases.length; i += 8) {
    const batch = cases.slice(i, i + 8);
    const results = await Promise.all(batch.map((c) => c.run()));
    results.forEach((r, k) => {
      const c = batch[k]!;
      if (!c.status.includes(r.status) || (c.code !== undefined && r.code !== c.code))
        wrong.push(`${c.name}: got ${r.status} ${r.code ?? ''}, want ${c.status.join('|')} ${c.code ?? ''}`);
    });
    await tick();
  }
  assert.deepEqual(wrong, [], `${wrong.length} of ${cases.length} cases answered wrongly`);
  assert.equal(hub.child.exitCode, null, 'the hub is still running');
  assert.equal(subscriber.ended, false, 'the normal subscriber was never cut');
  const ticksSeen = subscriber.events.filter((e) => e.data.startsWith('tick-')).map((e) => e.data);
  assert.deepEqual(
    ticksSeen,
    Array.from({ length: ticks }, (_, k) => `tick-${k + 1}`),
    'every tick, in order',
  );
  assert.equal((await httpRequest(`${hub.url}/healthz`)).status, 200);
  assert.doesNotMatch(hub.logs.join('\n') + hub.stderr, /"level":50|"level":60|unhandled|uncaught/i);
});

test('line breaks in data cannot inject SSE fields: the subscriber gets the data back as sent', async () => {
  const evil = 'line1\r\nid: forged\r\n\r\nevent: herald.shutdown\rdata: x\nretry: 1';
  const r = await httpRequest(`${hub.url}${PATH}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${publisherToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ topics: [TICKS], data: evil, id: 'honest-id' }),
  });
  assert.equal(r.status, 200);
  const e = await subscriber.waitFor((m) => m.id === 'honest-id');
  assert.equal(e.event, undefined);
  assert.equal(e.data, evil.replace(/\r\n|\r/g, '\n'));
  assert.equal(
    subscriber.events.some((m) => m.id === 'forged' || m.event === 'herald.shutdown'),
    false,
  );
});

test('a WebSocket flood of garbage is answered with error frames and policy closes, and the hub keeps serving', async () => {
  const wsUrl = `${hub.url.replace('http', 'ws')}${PATH}/ws`;
  const open = (token?: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const closed = (ws: WebSocket) =>
    new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

  // A well-behaved WebSocket subscriber alongside the SSE one.
  const good = await open(subscriberToken);
  const goodFrames: { data?: string }[] = [];
  good.on('message', (m) => goodFrames.push(JSON.parse(String(m)) as { data?: string }));
  good.send(JSON.stringify({ op: 'subscribe', topics: [TICKS] }));

  const errors: string[] = [];
  const closes: Promise<number>[] = [];
  for (let c = 0; c < 6; c++) {
    const ws = await open(subscriberToken);
    ws.on('message', (m) => {
      const f = JSON.parse(String(m)) as { op?: string; code?: string };
      if (f.op === 'error' && f.code) errors.push(f.code);
    });
    closes.push(closed(ws));
    const garbage: (string | Buffer)[] = [
      randomBytes(64),
      '{not json',
      '[]',
      JSON.stringify({ op: 'nope' }),
      JSON.stringify({ op: 'subscribe', topics: 'x' }),
      JSON.stringify({ op: 'subscribe', topics: ['{bad'] }),
      JSON.stringify({ op: 'publish', topics: ['t'], data: 'x' }),
      'null',
      '"string"',
      JSON.stringify({ op: 'unsubscribe' }),
      '\u0000\u0001\u0002',
      JSON.stringify({ op: 'subscribe', topics: ['a\nb'] }),
    ];
    for (let k = 0; k < 40; k++) {
      if (ws.readyState !== WebSocket.OPEN) break;
      ws.send(garbage[k % garbage.length]!);
    }
  }
  const oversized = await open(subscriberToken);
  const oversizedClosed = closed(oversized);
  oversized.send('x'.repeat(70_000));

  const codes = await Promise.all(closes);
  assert.ok(
    codes.every((c) => c === 1008),
    `garbage senders closed with policy violation: ${codes.join(',')}`,
  );
  assert.equal(await oversizedClosed, 1009, 'oversized frame closes with 1009');
  assert.ok(errors.length >= 6, `error frames were sent (${errors.length})`);
  assert.ok(
    errors.every((c) => c.startsWith('HERALD_ERR_')),
    'every error frame carries a stable code',
  );

  const n = Date.now();
  const r = await httpRequest(`${hub.url}${PATH}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${publisherToken}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: `topic=${encodeURIComponent(TICKS)}&data=after-ws-flood-${n}`,
  });
  assert.equal(r.status, 200);
  await subscriber.waitFor((e) => e.data === `after-ws-flood-${n}`, 3000, 'SSE subscriber still served');
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('good WebSocket subscriber missed the update')), 3000);
    const check = () => {
      if (goodFrames.some((f) => f.data === `after-ws-flood-${n}`)) {
        clearTimeout(t);
        resolve();
      } else good.once('message', check);
    };
    check();
  });
  good.close();
  assert.equal(hub.child.exitCode, null, 'the hub is still running');
});
