import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mintAccessToken, mintToken } from '../src/auth/mint.ts';
import { startHubProcess, type HubProcess } from './support/hub-process.ts';
import { SseConnection } from './support/sse-client.ts';

const doc = readFileSync(fileURLToPath(new URL('../docs/dialects.md', import.meta.url)), 'utf8');

function example(name: string, lang: string): string {
  const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(doc);
  assert.ok(m, `docs/dialects.md has no "${name}" example`);
  return m[1]!;
}

/** The documented one-command hub, on a free port: its arguments after `herald serve`. */
function documentedArgs(): string[] {
  const words = example('conformance-hub', 'sh')
    .trim()
    .match(/'[^']*'|\S+/g)!
    .map((w) => w.replace(/^'|'$/g, ''));
  assert.deepEqual(words.slice(0, 2), ['herald', 'serve']);
  const args = words.slice(2);
  args[args.indexOf('--port') + 1] = '0';
  return args;
}

const KEY = '!ChangeThisMercureHubJWTSecretKey!';
let hub: HubProcess;
let dir: string;
before(async () => {
  hub = await startHubProcess(documentedArgs());
  dir = mkdtempSync(join(tmpdir(), 'herald-dialects-doc-'));
});
after(async () => {
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
});

function run(name: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, example(name, 'js'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.once('exit', (code) => resolve({ code, stdout }));
  });
}

test('the documented hub serves the suite’s draft-07 and draft-08 tokens, and the snippets work against it', async () => {
  const HERALD_URL = `${hub.url}/.well-known/mercure`;
  const access = await mintAccessToken({
    secret: KEY,
    issuer: 'https://localhost',
    audience: 'https://localhost/.well-known/mercure',
    details: [
      {
        actions: ['publish', 'subscribe'],
        topics: [{ match: 'https://example.com/books/:id', match_type: 'urlpattern' }],
      },
    ],
  });
  const old = await SseConnection.open(
    `${HERALD_URL}?topic=${encodeURIComponent('https://example.com/books/{id}')}`,
    {
      Authorization: `Bearer ${await mintToken({ secret: KEY, subscribe: ['*'] })}`,
    },
  );
  await old.live();
  const subscriber = run('subscribe', { HERALD_URL, HERALD_TOKEN: access });
  // The subscriber snippet is connected once the hub counts its stream beside ours.
  const publisherRun = (async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const metrics = await (await fetch(`${hub.url}/metrics`)).text();
      if (/herald_connections_active\{transport="sse"\} 2\b/.test(metrics)) break;
      if (Date.now() > deadline) throw new Error('the subscribe snippet never connected');
      await new Promise((r) => setTimeout(r, 25));
    }
    return run('publish', { HERALD_URL, HERALD_TOKEN: access });
  })();
  const [sub, pub] = await Promise.all([subscriber, publisherRun]);
  assert.equal(pub.code, 0);
  assert.match(pub.stdout.trim(), /^urn:uuid:/);
  assert.equal(sub.code, 0);
  assert.equal(sub.stdout.trim(), 'data: {"title":"Dune"}');
  await old.waitForUpdates(1);
  assert.equal(old.updates[0]!.data, '{"title":"Dune"}');
  old.close();
});
