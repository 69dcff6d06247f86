// Abuse class: retained state costing far more heap than its byte limits say (issue 15, item
// 10). A 63 KB state of a thousand tiny objects used to take ~1.4 MB of heap. States are now
// held as text and a hub-wide budget (--max-state-total-bytes) counts what they really hold,
// so the heap they take stays near the budget whatever their shape. Measured here, on the
// hub's own heap, after full collections.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RunningHerald } from '../../src/start.ts';
import { publishJson, publisherToken, startTestHub } from '../support/hub-fixture.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const BUDGET = 4 * 1024 * 1024;
const MAX_STATE_BYTES = 64 * 1024;

/** ~63 KB of JSON in the shapes that cost most as objects. */
const shapes: Record<string, () => string> = {
  'an array of empty objects': () => `[${Array.from({ length: 21_000 }, () => '{}').join(',')}]`,
  'an object of many small keys': () =>
    JSON.stringify(Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i]))),
  'text outside Latin-1 (two bytes a character in V8)': () => JSON.stringify({ t: 'жЖ漢'.repeat(7_000) }),
};

describe('retained state memory stays within --max-state-total-bytes, whatever its shape', () => {
  let hub: RunningHerald;
  let token: string;
  before(async () => {
    hub = await startTestHub({
      maxStates: 10_000,
      maxStateBytes: MAX_STATE_BYTES,
      maxStateTotalBytes: BUDGET,
      // History holds published data too: keep it out of this measurement.
      history: 0,
    });
    token = await publisherToken();
  });
  after(() => hub.close());

  for (const [name, make] of Object.entries(shapes)) {
    test(`${name}: states past the budget are refused (507) and the heap they hold stays near it`, async (t) => {
      const data = make();
      assert.ok(Buffer.byteLength(data) <= MAX_STATE_BYTES, `${Buffer.byteLength(data)} bytes`);
      const prefix = `https://example.com/mem/${name.split(' ').join('-')}/`;
      const baseline = heapAfterGc();
      let accepted = 0;
      let refused = 0;
      // Far more than the budget allows (the old hub kept all 150: ~200 MB for the first shape).
      for (let i = 0; i < 150; i++) {
        const res = await publishJson(hub, { topics: `${prefix}${i}`, data, retain: true }, token);
        if (res.status === 200) accepted++;
        else {
          assert.equal(res.status, 507, res.body);
          assert.equal(res.headers.get('x-herald-error'), 'HERALD_ERR_TOO_MANY_STATES');
          assert.match(res.body, /--max-state-total-bytes/);
          refused++;
        }
      }
      const grown = heapAfterGc() - baseline;
      t.diagnostic(
        `${accepted} states held, heap +${(grown / 1048576).toFixed(2)} MiB for a ${BUDGET / 1048576} MiB budget`,
      );
      assert.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`);
      // The store's text (≤ budget) plus this node's view for the dashboard (≤ budget).
      const bound = 2 * BUDGET + 4 * 1024 * 1024;
      assert.ok(
        grown <= bound,
        `${accepted} states of ${Buffer.byteLength(data)} bytes grew the heap by ${(grown / 1048576).toFixed(1)} MiB (bound ${(bound / 1048576).toFixed(1)} MiB)`,
      );
      // Free the budget for the next shape.
      for (let i = 0; i < accepted; i++)
        assert.equal((await publishJson(hub, { topics: `${prefix}${i}`, patch: null }, token)).status, 200);
    });
  }

  test('rate windows count too: wide $rate patches hit the budget instead of the heap', async (t) => {
    const rate = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, 300]));
    const baseline = heapAfterGc();
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const res = await publishJson(
        hub,
        { topics: `https://example.com/rates/${i}`, patch: { $rate: rate } },
        token,
      );
      if (res.status === 200) accepted++;
      else {
        assert.equal(res.status, 507, res.body);
        refused++;
      }
    }
    const grown = heapAfterGc() - baseline;
    t.diagnostic(`${accepted} topics of 200 rate windows held, heap +${(grown / 1048576).toFixed(2)} MiB`);
    assert.ok(refused > 0, `accepted all ${accepted}`);
    assert.ok(grown <= 2 * BUDGET + 4 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB`);
  });
});
