import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, isHeraldError } from '../../src/protocol/errors.ts';
import { checkClientFrame, readClientFrame } from '../../src/protocol/ws-frames.ts';
import { publisherToken, startTestHub } from '../support/hub-fixture.ts';
import { WsProbe } from '../support/ws-probe.ts';

const OPS = ['auth', 'subscribe', 'unsubscribe', 'publish', 'bogus'] as const;

/** Frames a hostile client might send: mostly well-shaped ops with wrong or odd fields. */
const frameValue = fc.oneof(
  fc.record(
    {
      op: fc.oneof(fc.constantFrom(...OPS), fc.jsonValue()),
      ref: fc.oneof(fc.string({ maxLength: 80 }), fc.double(), fc.jsonValue()),
      token: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue()),
      topics: fc.oneof(
        fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constant('*')), { maxLength: 6 }),
        fc.jsonValue(),
      ),
      topic: fc.jsonValue(),
      lastEventId: fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.jsonValue()),
      snapshot: fc.jsonValue(),
      throttle: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
      data: fc.jsonValue(),
      id: fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.jsonValue()),
      type: fc.jsonValue(),
      private: fc.jsonValue(),
      retain: fc.jsonValue(),
      patch: fc.jsonValue(),
      retry: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);

/** Raw text: valid JSON of any frame, or arbitrary text (broken JSON, deep nesting, lone surrogates). */
const frameText = fc.oneof(
  frameValue.map((v) => JSON.stringify(v) ?? 'null'),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.nat({ max: 5000 }).map((n) => '['.repeat(n)),
);

describe('fuzzing WebSocket client frames', () => {
  test('the frame validator returns a frame or throws a HeraldError, for any text', () => {
    fc.assert(
      fc.property(frameText, (text) => {
        try {
          const frame = checkClientFrame(readClientFrame(text));
          assert.equal(typeof frame.op, 'string');
        } catch (e) {
          assert.ok(isHeraldError(e), `not a HeraldError: ${String(e)}`);
          assert.ok(e.status >= 400 && e.status < 500, `${e.status} ${e.message}`);
          assert.ok(!/[\r\n]/.test(e.message), 'one-line reason');
        }
      }),
      // An op whose String() throws (found by this property in CI) always runs.
      { numRuns: 2000, examples: [['{"op":[{"toString":false}]}'], ['{"op":{"toString":1}}']] },
    );
  });

  test('a live hub answers every fuzzed frame with a reply or a close code, and never an internal error', async () => {
    const hub = await startTestHub({ anonymous: true, maxBody: 64 * 1024 });
    const url = `ws://127.0.0.1:${hub.port}${hub.config.path}/ws`;
    const pub = await publisherToken();
    try {
      const batches = fc.sample(fc.array(frameText, { minLength: 1, maxLength: 8 }), {
        numRuns: 40,
        seed: 15,
      });
      for (const [i, batch] of batches.entries()) {
        // Half the sockets may publish, so fuzzed publish ops reach the hub core too.
        const c = new WsProbe(url, i % 2 ? { headers: { Authorization: `Bearer ${pub}` } } : {});
        await c.opened;
        for (const text of batch) c.ws.send(text);
        // A final well-formed op: its answer means every fuzzed frame before it was handled.
        c.ws.send(JSON.stringify({ op: 'unsubscribe', topics: ['https://example.com/end'], ref: 'end' }));
        const outcome = await Promise.race([
          c.next((m) => m['ref'] === 'end').then(() => 'answered'),
          c.closed.then(({ code, reason }) => `closed ${code} ${reason}`),
        ]);
        if (outcome !== 'answered') {
          const [, code] = outcome.split(' ');
          assert.ok(
            ['1000', '1007', '1008', '1009', '4001', '4401'].includes(code!),
            `${outcome}: ${batch.join(' | ')}`,
          );
        }
        c.ws.terminate();
      }
      assert.equal(hub.hub.counters.refusals[ErrorCode.internal], undefined, 'no internal error');
      const health = await fetch(`${hub.url}/healthz`);
      assert.equal(health.status, 200);
    } finally {
      await hub.close();
    }
  });
});
