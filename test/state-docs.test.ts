import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mintToken } from '../src/auth/mint.ts';
import { startHerald } from '../src/start.ts';
import { openSse } from './support/sse-events.ts';

const doc = readFileSync(fileURLToPath(new URL('../docs/state.md', import.meta.url)), 'utf8');

function example(name: string): string {
  const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``).exec(doc);
  assert.ok(m, `docs/state.md has no "${name}" example`);
  return m[1]!;
}

test('the worker in docs/state.md counts into a state that a dashboard subscriber sees', async () => {
  const key = 'docs-test-secret-docs-test-secret';
  const hub = await startHerald({
    port: 0,
    host: '127.0.0.1',
    jwtKey: key,
    anonymous: true,
    logLevel: 'silent',
  });
  const dir = mkdtempSync(join(tmpdir(), 'herald-state-doc-'));
  try {
    const topic = 'https://example.com/stats/indexing';
    const url = `${hub.url}/.well-known/mercure`;
    const dashboard = await openSse(
      `${url}?topic=${encodeURIComponent('https://example.com/stats/{name}')}&snapshot=1&throttle=500`,
    );
    await dashboard.waitFor((e) => e.event === 'herald.snapshot');
    const file = join(dir, 'worker.mjs');
    writeFileSync(file, example('worker'));
    const token = await mintToken({ secret: key, publish: [topic] });
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [file], {
        env: { ...process.env, HERALD_URL: url, HERALD_TOKEN: token },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.once('exit', resolve);
    });
    assert.equal(code, 0);
    const state = (await hub.hub.state!.get(topic))!.state as Record<string, unknown>;
    assert.equal(state['status'], 'done');
    assert.equal(state['indexed'], 3);
    assert.equal(state['errors'], 1);
    assert.equal(state['lastUrl'], 'https://c.example/');
    assert.ok((state['$rates'] as { indexed: number }).indexed > 0);
    // The throttled dashboard ends on the final state, whatever it skipped on the way.
    await dashboard.waitFor(
      (e) => e.event === 'herald.state' && JSON.parse(e.data).state.status === 'done',
      3000,
    );
    dashboard.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await hub.close();
  }
});

test('the worker in docs/state.md stops with an error when the hub refuses it', async () => {
  const hub = await startHerald({
    port: 0,
    host: '127.0.0.1',
    jwtKey: 'another-secret-another-secret-xx',
    logLevel: 'silent',
  });
  const dir = mkdtempSync(join(tmpdir(), 'herald-state-doc-'));
  try {
    const file = join(dir, 'worker.mjs');
    writeFileSync(file, example('worker'));
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [file], {
        env: { ...process.env, HERALD_URL: `${hub.url}/.well-known/mercure`, HERALD_TOKEN: 'not-a-token' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      child.once('exit', resolve);
    });
    assert.notEqual(code, 0);
    assert.match(stderr, /publish failed: 401/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await hub.close();
  }
});
