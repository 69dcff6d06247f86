import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { mintAccessToken } from '../src/auth/mint.ts';
import { subscribe, type HeraldUpdate, type WebSocketCtor } from '../src/client/index.ts';
import { ConnectionRegistry } from '../src/react/registry.ts';
import type { RunningHerald } from '../src/start.ts';
import { TEST_KEY, hubUrl, publishForm, startTestHub } from './support/hub-fixture.ts';
import { eventually } from './support/wait.ts';

const HUB = 'https://hub.test/.well-known/mercure';
const ISSUER = 'https://issuer.test';
const WS = WebSocket as unknown as WebSocketCtor;
const T = 'https://example.net/room/{x}';

let hub: RunningHerald;
before(async () => {
  hub = await startTestHub({ anonymous: false, hubUrl: HUB, tokenIssuers: [ISSUER] });
});
after(() => hub.close());

const token = (actions: ('publish' | 'subscribe')[]) =>
  mintAccessToken({
    secret: TEST_KEY,
    issuer: ISSUER,
    audience: HUB,
    details: [{ actions, topics: [{ match: '*' }] }],
  });

const until = (check: () => boolean, what: string) => eventually(check, what, 10_000);

for (const transport of ['sse', 'ws'] as const) {
  test(`the client SDK speaks draft-08 over ${transport}: exact match, URL patterns, private updates with an access token`, async () => {
    const got: HeraldUpdate[] = [];
    const opened: string[] = [];
    const sub = subscribe({
      url: hubUrl(hub),
      dialect: 'draft-08',
      topics: [T],
      patterns: ['https://example.net/books/:id'],
      token: await token(['subscribe']),
      transport,
      WebSocket: WS,
      onUpdate: (u) => got.push(u),
      onStatus: (s) => opened.push(s),
    });
    try {
      await until(() => opened.includes('open'), 'open');
      const pub = await token(['publish']);
      await publishForm(
        hub,
        [
          ['topic', 'https://example.net/room/1'],
          ['data', 'template text is not a template'],
        ],
        pub,
      );
      await publishForm(
        hub,
        [
          ['topic', T],
          ['data', 'exact'],
          ['private', 'on'],
        ],
        pub,
      );
      await publishForm(
        hub,
        [
          ['topic', 'https://example.net/books/3'],
          ['data', 'pattern'],
        ],
        pub,
      );
      await until(() => got.length === 2, 'two updates');
      assert.deepEqual(
        got.map((u) => u.data),
        ['exact', 'pattern'],
      );
    } finally {
      sub.close();
    }
  });
}

test('useTopic’s registry subscribes in draft-08 when the provider says so (exact topics, shared WebSocket)', async () => {
  const registry = new ConnectionRegistry();
  const got: string[] = [];
  let open = false;
  const stop = registry.listen(
    { url: hubUrl(hub), token: await token(['subscribe']), dialect: 'draft-08', WebSocket: WS },
    [T],
    {
      update: (u) => got.push(u.data),
      status: (s) => {
        if (s === 'open') open = true;
      },
    },
  );
  try {
    await until(() => open, 'open');
    const pub = await token(['publish']);
    await publishForm(
      hub,
      [
        ['topic', 'https://example.net/room/2'],
        ['data', 'no'],
      ],
      pub,
    );
    await publishForm(
      hub,
      [
        ['topic', T],
        ['data', 'yes'],
      ],
      pub,
    );
    await until(() => got.length === 1, 'one update');
    assert.deepEqual(got, ['yes']);
  } finally {
    stop();
    registry.close();
  }
});
