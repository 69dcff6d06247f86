import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { requestedLastEventId } from '../../src/http/subscribe-route.ts';
import { subscribeParams } from '../../src/http/subscribe-params.ts';
import { isHeraldError } from '../../src/protocol/errors.ts';
import { idFromHeader, idToHeader } from '../../src/protocol/header-value.ts';
import { validateLastEventId } from '../../src/protocol/validate.ts';
import { hubUrl, publishJson, publisherToken, startTestHub } from '../support/hub-fixture.ts';
import { SseConnection } from '../support/sse-client.ts';

/** Any text, lone surrogates and control characters included, sometimes longer than the limit. */
const anyId = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 250, maxLength: 300 }),
);

describe('fuzzing Last-Event-ID values', () => {
  test('reading, checking and echoing a cursor never throws anything but a 400 HeraldError', () => {
    fc.assert(
      fc.property(anyId, fc.boolean(), (value, asHeader) => {
        // A header arrives as Latin-1 text; a query parameter as decoded UTF-8.
        const header = asHeader ? Buffer.from(value, 'utf8').toString('latin1') : undefined;
        const url = new URL('http://hub.invalid/.well-known/mercure');
        if (!asHeader) url.searchParams.set('lastEventID', value);
        const id = requestedLastEventId({ header: () => header }, subscribeParams(url.searchParams));
        if (value === '') return assert.equal(id, asHeader ? undefined : '');
        assert.equal(typeof id, 'string');
        try {
          validateLastEventId(id!);
        } catch (e) {
          assert.ok(isHeraldError(e) && e.status === 400, String(e));
          return;
        }
        const echoed = idToHeader(id!);
        assert.match(echoed, /^[\x20-\x7e]*$/);
        validateHeaderValue('Last-Event-ID', echoed);
        if (!/[\uD800-\uDFFF]/.test(id!.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
          // Well-formed (no lone surrogate): the echo decodes back to the id.
          assert.equal(decodeURIComponent(echoed), id);
          if (asHeader) assert.equal(id, value, 'a UTF-8 header gives back the id as sent');
        }
        assert.equal(typeof idFromHeader(echoed), 'string');
      }),
      { numRuns: 3000 },
    );
  });

  test('a live hub resumes from any id a publisher may choose, echoing it in an encodable header', async () => {
    const hub = await startTestHub({ anonymous: true, history: 500 });
    const pub = await publisherToken();
    const topic = 'https://example.com/fuzz';
    try {
      const ids = fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), {
        numRuns: 40,
        seed: 15,
      });
      let resumed = 0;
      for (const id of new Set(ids)) {
        const published = await publishJson(
          hub,
          [
            { topics: [topic], data: 'a', id },
            { topics: [topic], data: 'b' },
          ],
          pub,
        );
        if (published.status === 400) continue; // an id the hub refuses (reserved, control characters)
        assert.equal(published.status, 200, published.body);
        const c = await SseConnection.open(
          hubUrl(hub, `?topic=${encodeURIComponent(topic)}&lastEventID=${encodeURIComponent(id)}`),
        );
        assert.equal(c.status, 200, `${JSON.stringify(id)}: ${c.body}`);
        await c.waitForUpdates(1);
        assert.equal(c.updates[0]!.data, 'b');
        assert.equal(decodeURIComponent(String(c.headers['last-event-id'])), id);
        c.close();
        resumed++;
      }
      assert.ok(resumed > 20, `${resumed} resumes tried`);
      const health = await fetch(`${hub.url}/healthz`);
      assert.equal(health.status, 200);
    } finally {
      await hub.close();
    }
  });
});
