import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ANONYMOUS, type Principal } from '../auth/principal.ts';
import type { Sink } from '../hub/sink.ts';
import { Subscription } from '../hub/subscription.ts';
import { compileSelector } from '../protocol/selector.ts';
import { connectionLogObserver } from './connection-log.ts';
import { REDACTED_PATHS } from './redact-paths.ts';

const sink = { transport: 'sse' } as unknown as Sink;

function subscription(principal: Principal = ANONYMOUS): Subscription {
  const sub = new Subscription('urn:uuid:s1', principal, sink, [compileSelector('https://example.com/a')]);
  sub.client = { ip: '192.0.2.7', requestId: 'req-1' };
  return sub;
}

/** The open and close lines of one subscription, written through `logger`. */
function linesOf(level: string, redact?: readonly string[]): Record<string, unknown>[] {
  const lines: string[] = [];
  const logger = pino(
    { level, base: null, timestamp: false, ...(redact ? { redact: [...redact] } : {}) },
    { write: (l: string) => void lines.push(l) },
  );
  const observer = connectionLogObserver(logger);
  const sub = subscription({ ...ANONYMOUS, subject: 'reader', anonymous: false });
  observer.onSubscribe!(sub);
  observer.onUnsubscribe!(sub, 'client');
  observer.onUnsubscribe!(sub, 'error');
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('connection lines: an open and a close line with the client, the reason and the duration', () => {
  const [open, close, failed] = linesOf('info');
  assert.deepEqual(open, {
    level: 30,
    event: 'connection.open',
    requestId: 'req-1',
    subscriber: 'urn:uuid:s1',
    transport: 'sse',
    subject: 'reader',
    ip: '192.0.2.7',
    selectors: 1,
    msg: 'connection opened',
  });
  assert.equal(close!['event'], 'connection.close');
  assert.equal(close!['reason'], 'client');
  assert.equal(typeof close!['durationMs'], 'number');
  assert.equal(failed!['level'], 40, 'a connection that failed is a warning');
});

test('connection lines hold no field the logger censors, so they may skip the redaction pass', () => {
  const plain = linesOf('info');
  assert.deepEqual(
    linesOf('info', REDACTED_PATHS).map((l) => ({ ...l, durationMs: 0 })),
    plain.map((l) => ({ ...l, durationMs: 0 })),
    'censoring changes nothing in these lines',
  );
  // And cannot start to: only flat strings and numbers, under names no censored path ends in.
  const censored = new Set(REDACTED_PATHS.map((p) => p.split('.').at(-1)));
  for (const line of plain)
    for (const [key, value] of Object.entries(line)) {
      assert.ok(!censored.has(key), `${key} is a censored name`);
      assert.ok(typeof value === 'string' || typeof value === 'number', `${key} is not flat`);
    }
});

test('at warn, only a failed connection is logged', () => {
  assert.deepEqual(
    linesOf('warn').map((l) => l['reason']),
    ['error'],
    'only the failed connection is logged at warn',
  );
});
