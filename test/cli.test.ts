import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { SseConnection } from './support/sse-client.ts';
import { HERALD_CLI, runCli, startHubProcess, type HubProcess } from './support/hub-process.ts';

const KEY = 'cli-test-secret-123';

describe('npx herald serve', () => {
  let hub: HubProcess;
  before(async () => {
    // The exact form other checks rely on, through npm's own bin resolution.
    hub = await startHubProcess(
      [
        '--port',
        '0',
        '--jwt-key',
        KEY,
        '--anonymous',
        '--cors-origins',
        'https://a.example,https://b.example',
      ],
      {},
      ['npx', 'herald'],
    );
  });
  after(async () => {
    await hub.stop();
  });

  test('serves anonymous subscribers and honours the CORS allow-list', async () => {
    const res = await fetch(`${hub.url}/.well-known/mercure`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://b.example' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://b.example');
    const denied = await fetch(`${hub.url}/.well-known/mercure`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example' },
    });
    assert.equal(denied.status, 403);
  });

  test('herald token, herald publish and herald tail work against it', async () => {
    const tok = await runCli([
      'token',
      '--publish',
      '*',
      '--subscribe',
      '*',
      '--sub',
      'alice',
      '--ttl',
      '1h',
      '--jwt-key',
      KEY,
    ]);
    assert.equal(tok.code, 0, tok.stderr);
    const jwt = tok.stdout.trim();
    const claims = decodeJwt(jwt);
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(claims['mercure'], { publish: ['*'], subscribe: ['*'] });
    assert.ok(claims.exp! - claims.iat! === 3600);

    const tail = spawn(
      HERALD_CLI[0]!,
      [...HERALD_CLI.slice(1), 'tail', 'https://example.com/cli/{id}', '--url', hub.url, '--token', jwt],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const lines = createInterface({ input: tail.stdout });
      const got: string[] = [];
      const firstLine = new Promise<void>((resolve) => lines.on('line', (l) => (got.push(l), resolve())));
      const connected = new Promise<void>((resolve) =>
        tail.stderr.on('data', (d: Buffer) => String(d).includes('connected') && resolve()),
      );
      await connected;
      const pub = await runCli(
        [
          'publish',
          'https://example.com/cli/1',
          'hello\nworld',
          '--type',
          'greet',
          '--private',
          '--id',
          'cli-1',
          '--url',
          hub.url,
        ],
        { HERALD_JWT_KEY: KEY },
      );
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal(pub.stdout.trim(), 'cli-1');
      await firstLine;
      assert.equal(got[0], 'cli-1\tgreet\thello\\nworld');
    } finally {
      tail.kill();
    }
  });

  test('herald publish reports the hub reason when refused', async () => {
    const res = await runCli(['publish', 'https://example.com/x', 'd', '--url', hub.url, '--token', 'bad']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /hub answered 401: token is malformed/);
  });
});

describe('herald configuration', () => {
  test('every flag has a HERALD_* variable, and --help lists both', async () => {
    const res = await runCli(['serve', '--help']);
    assert.equal(res.code, 0);
    for (const [flag, env] of [
      ['--port', 'HERALD_PORT'],
      ['--jwt-key', 'HERALD_JWT_KEY'],
      ['--anonymous', 'HERALD_ANONYMOUS'],
      ['--cors-origins', 'HERALD_CORS_ORIGINS'],
      ['--redis', 'HERALD_REDIS'],
      ['--history', 'HERALD_HISTORY'],
      ['--history-ttl', 'HERALD_HISTORY_TTL'],
      ['--heartbeat', 'HERALD_HEARTBEAT'],
      ['--demo', 'HERALD_DEMO'],
    ]) {
      assert.match(res.stdout, new RegExp(`${flag}.*${env}`), flag);
    }
  });

  test('environment variables configure the hub, and flags win over them', async () => {
    const hub = await startHubProcess(['--port', '0', '--heartbeat', '100ms'], {
      HERALD_JWT_KEY: KEY,
      HERALD_ANONYMOUS: 'true',
      HERALD_HEARTBEAT: '60',
    });
    try {
      const c = await SseConnection.open(`${hub.url}/.well-known/mercure?topic=x`);
      assert.equal(c.status, 200, 'anonymous from env');
      await c.waitFor(() => c.comments >= 3, 'heartbeat comments every 100 ms from the flag');
      c.close();
    } finally {
      await hub.stop();
    }
  });

  test('bad settings stop startup with exit code 2 and name the setting', async () => {
    for (const [args, env, reason] of [
      [['--port', 'abc'], {}, /--port: "abc" is not a non-negative integer/],
      [['--heartbeat', 'soon'], {}, /heartbeat: "soon" is not a duration/],
      [['--redis', 'http://x'], {}, /must be a redis:\/\/ or rediss:\/\/ URL/],
      [['--nope'], {}, /unknown option --nope$/m],
      [['--port', '0'], { HERALD_HISTORY: '-4' }, /HERALD_HISTORY.*not a non-negative integer/],
      [['--port', '0', '--jwt-key-file', '/nonexistent.pem'], {}, /cannot read JWT key file/],
      [['--port', '0', '--jwt-key', 'short'], {}, /at least 8 characters/],
    ] as const) {
      const res = await runCli(['serve', ...args], env);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, reason);
    }
  });

  test('SIGTERM stops a hub gracefully with exit code 0', async () => {
    const hub = await startHubProcess(['--port', '0', '--jwt-key', KEY, '--anonymous']);
    const c = await SseConnection.open(`${hub.url}/.well-known/mercure?topic=x`);
    await c.live();
    assert.equal(await hub.stop('SIGTERM'), 0);
    await c.waitForEnd();
    assert.equal(c.events.at(-1)?.event, 'herald.shutdown');
  });

  test('an unknown command prints usage and exits 2', async () => {
    const res = await runCli(['frobnicate']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command "frobnicate"/);
  });

  test('--version prints the package version and exits 0', async () => {
    const res = await runCli(['--version']);
    assert.equal(res.code, 0);
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.match(res.stdout, new RegExp(`^herald ${version.replace(/\./g, '\\.')} \\(Node v\\d+`));
  });
});

describe('npm start (dev mode with demo)', () => {
  test('starts a dev hub whose demo updates reach an anonymous curl-style subscriber, and prints a dev token', async () => {
    const hub = await startHubProcess(['--dev', '--demo', '--port', '0']);
    try {
      await hub.waitForStderr(/Dev token[^\n]*\n\s+eyJ\S+/);
      const token = /\n\s+(eyJ[\w-]+\.[\w-]+\.[\w-]+)/.exec(hub.stderr)?.[1];
      assert.ok(token, 'token printed');
      const c = await SseConnection.open(`${hub.url}/.well-known/mercure?topic=*`);
      await c.waitForUpdates(2);
      assert.equal(c.updates[0]!.event, 'stats');
      const res = await fetch(`${hub.url}/.well-known/mercure`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
        body: new URLSearchParams({ topic: 'https://example.com/hello', data: 'hi' }),
      });
      assert.equal(res.status, 200);
      c.close();
    } finally {
      await hub.stop();
    }
  });
});
