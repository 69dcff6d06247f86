import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { mintToken } from '../../src/auth/mint.ts';
import { closeReason, MAX_CLOSE_REASON_BYTES } from '../../src/protocol/ws.ts';
import { localHubArgs, startHubProcess } from '../support/hub-process.ts';
import { WsProbe } from '../support/ws-probe.ts';

const KEY = 'abuse-ws-close-key-0123456789abcdef';

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('WebSocket close reasons', () => {
  test('a refusal text of long non-ASCII claims closes with a reason cut to 123 bytes, and the hub lives on', async () => {
    const hub = await startHubProcess(localHubArgs(KEY));
    try {
      // The bad selector is echoed in the refusal: 120 Cyrillic characters are 240 bytes.
      const token = await mintToken({
        secret: KEY,
        subscribe: [`https://example.com/${'заказ'.repeat(60)}{`],
      });
      const c = new WsProbe(`ws://127.0.0.1:${hub.port}/.well-known/mercure/ws`);
      await c.opened;
      c.send({ op: 'auth', token, ref: 'a' });
      const error = await c.op('error');
      assert.equal(error['code'], 'HERALD_ERR_UNAUTHORIZED');
      const closed = await within(c.closed, 5000, 'the close frame');
      assert.equal(closed.code, 4401);
      assert.ok(Buffer.byteLength(closed.reason) <= 123, `${Buffer.byteLength(closed.reason)} bytes`);
      assert.match(closed.reason, /^token claim mercure\.subscribe has a bad selector/);
      assert.ok(!closed.reason.includes('\uFFFD'), 'no character was cut in half');
      const health = await fetch(`${hub.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(hub.child.exitCode, null, 'the hub process is still running');
    } finally {
      await hub.stop();
    }
  });

  test('closeReason keeps any text within 123 UTF-8 bytes, as a prefix, without splitting a character', () => {
    assert.equal(MAX_CLOSE_REASON_BYTES, 123);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const cut = closeReason(text);
        assert.ok(Buffer.byteLength(cut) <= MAX_CLOSE_REASON_BYTES);
        assert.ok(text.startsWith(cut));
        if (Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) assert.equal(cut, text);
        else {
          // Cut between characters (never inside a surrogate pair), as late as fits.
          assert.ok(!(/[\uD800-\uDBFF]$/.test(cut) && /^[\uDC00-\uDFFF]/.test(text.slice(cut.length))));
          const next = String.fromCodePoint(text.codePointAt(cut.length)!);
          assert.ok(Buffer.byteLength(cut + next) > MAX_CLOSE_REASON_BYTES);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('errors no connection may turn into a crash', () => {
  test('the serve process logs an unhandled rejection or exception and keeps running', async () => {
    // The same guard `herald serve` installs, in a process of its own: a crash would be the exit code.
    const script = `
      import { pino } from 'pino';
      import { containProcessErrors } from './src/cli/contain-errors.ts';
      containProcessErrors(pino({ base: null }));
      Promise.reject(new Error('rejected on purpose'));
      setTimeout(() => { throw new Error('thrown on purpose'); }, 1);
      setTimeout(() => { console.log('still alive'); process.exit(0); }, 50);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, err);
    assert.match(out, /still alive/);
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; event?: string; msg: string; err?: { message: string } });
    const contained = lines.filter((l) => l.event === 'uncaught');
    assert.equal(contained.length, 2, out);
    assert.ok(contained.every((l) => l.level === 50));
    assert.deepEqual(contained.map((l) => l.err?.message).sort(), [
      'rejected on purpose',
      'thrown on purpose',
    ]);
  });
});
