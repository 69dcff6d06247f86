import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { runCli, startHubProcess, type HubProcess } from './support/hub-process.ts';

const KEY = 'cli-dialect-secret-123';
let hub: HubProcess;

before(async () => {
  hub = await startHubProcess(['--port', '0', '--jwt-key', KEY, '--token-issuers', 'herald-dev']);
});
after(() => hub.stop());

test('herald token --access mints a draft-08 token for the resource the hub advertises; tail and publish speak draft-08', async () => {
  const tok = await runCli([
    'token',
    '--access',
    '--subscribe-pattern',
    'https://example.com/cli8/:id',
    '--sub',
    'bob',
    '--url',
    hub.url,
    '--jwt-key',
    KEY,
  ]);
  assert.equal(tok.code, 0, tok.stderr);
  const jwt = tok.stdout.trim();
  assert.equal(decodeProtectedHeader(jwt).typ, 'at+jwt');
  const claims = decodeJwt(jwt);
  assert.equal(claims.iss, 'herald-dev');
  assert.equal(claims.aud, 'http://localhost/.well-known/mercure');
  assert.equal(claims.sub, 'bob');
  assert.ok(typeof claims.jti === 'string' && claims.client_id === 'herald-dev');
  assert.equal(claims.exp! - claims.iat!, 3600);
  assert.deepEqual(claims['authorization_details'], [
    {
      type: 'https://mercure.rocks/authorization-detail',
      actions: ['subscribe'],
      topics: [{ match: 'https://example.com/cli8/:id', match_type: 'urlpattern' }],
    },
  ]);

  const tail = spawn(
    process.execPath,
    ['bin/herald.js', 'tail', '--pattern', 'https://example.com/cli8/:id', '--url', hub.url, '--token', jwt],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    const lines = createInterface({ input: tail.stdout });
    const firstLine = new Promise<string>((resolve) => lines.once('line', resolve));
    await new Promise<void>((resolve) =>
      tail.stderr.on('data', (d: Buffer) => String(d).includes('connected') && resolve()),
    );
    const pub = await runCli(
      [
        'publish',
        'https://example.com/cli8/7',
        'secret',
        '--private',
        '--id',
        'c8',
        '--access',
        '--url',
        hub.url,
      ],
      { HERALD_JWT_KEY: KEY },
    );
    assert.equal(pub.code, 0, pub.stderr);
    assert.equal(pub.stdout.trim(), 'c8');
    assert.equal(await firstLine, 'c8\tmessage\tsecret');
  } finally {
    tail.kill();
  }
});
