// The standing defence (issue 15): property-based fuzzing of the parsers a publisher reaches
// (form and JSON publish bodies, state patches and `$inc`). No input may make them throw
// anything but a HeraldError (a 4xx with a reason), and what they build stays within its
// limits: a body cannot turn into much more data than it carried, and retained state never
// holds more than its per-topic and hub-wide bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MemoryStateStore } from '../../src/broker/memory-state.ts';
import { applyStateOp } from '../../src/broker/state-store.ts';
import { parseFormPublish, parseJsonPublish } from '../../src/protocol/publish-body.ts';
import { isHeraldError } from '../../src/protocol/errors.ts';
import { parseStatePatch, patchFromData, retainedValue, type JsonValue } from '../../src/protocol/state.ts';
import type { PublishInput } from '../../src/protocol/update.ts';
import { validatePublishInput } from '../../src/protocol/validate.ts';

const RUNS = 400;

/** Runs `fn`; a HeraldError is a refusal (fine), anything else thrown fails the property. */
function refusedOrDone<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (isHeraldError(e) && e.status >= 400 && e.status < 500) return undefined;
    throw e;
  }
}

/** Output a parser built may not be much larger than its input (numbers such as 1e20 grow). */
function assertBounded(inputs: PublishInput[] | undefined, body: string): void {
  if (!inputs) return;
  let size = 0;
  for (const i of inputs) size += i.data.length + i.topics.reduce((n, t) => n + t.length, 0);
  assert.ok(size <= 8 * body.length + 16, `${body.length} bytes of body became ${size}`);
}

const key = fc.oneof(
  fc.constantFrom(
    'topic',
    'topics',
    'data',
    'id',
    'type',
    'retry',
    'private',
    'retain',
    'patch',
    '$inc',
    '$rate',
  ),
  fc.string({ maxLength: 8 }),
);
const publishObject = fc.dictionary(key, fc.jsonValue({ maxDepth: 6 }), { maxKeys: 8 });

test('form bodies: any text is parsed or refused with a HeraldError, never more than it carried', () => {
  const formField = fc.tuple(key, fc.string({ unit: 'grapheme-composite', maxLength: 40 }));
  const body = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.array(formField, { maxLength: 8 }).map((fields) => new URLSearchParams(fields).toString()),
    // Raw percent-escapes, valid or not.
    fc
      .array(
        fc.constantFrom('%', '%2', '%zz', '%C3', '%C3%A9', '%FF', '+', '&', '=', 'topic', 'data', 'patch'),
        {
          maxLength: 30,
        },
      )
      .map((parts) => parts.join('')),
  );
  fc.assert(
    fc.property(body, (b) => {
      const input = refusedOrDone(() => parseFormPublish(b));
      assertBounded(input && [input], b);
      if (input) refusedOrDone(() => validatePublishInput(input));
    }),
    { numRuns: RUNS },
  );
});

test('JSON bodies: any text, object or batch is parsed or refused with a HeraldError', () => {
  const body = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.json({ maxDepth: 6 }),
    publishObject.map((o) => JSON.stringify(o)),
    fc.array(publishObject, { maxLength: 5 }).map((a) => JSON.stringify(a)),
    // Truncated JSON: every prefix of a valid update.
    fc.tuple(publishObject, fc.nat()).map(([o, n]) => {
      const s = JSON.stringify(o);
      return s.slice(0, n % (s.length + 1));
    }),
  );
  fc.assert(
    fc.property(body, (b) => {
      const inputs = refusedOrDone(() => parseJsonPublish(b));
      assertBounded(inputs, b);
      for (const i of inputs ?? []) refusedOrDone(() => validatePublishInput(i));
    }),
    { numRuns: RUNS },
  );
});

/** An `$inc` tree of any shape, numbers of any size (finite or not). */
const incTree = fc.letrec((tie) => ({
  tree: fc.dictionary(
    fc.string({ maxLength: 6 }),
    fc.oneof({ depthSize: 'small' }, fc.double(), fc.integer(), tie('tree')),
    { maxKeys: 4 },
  ),
})).tree;

const patchDocument = fc.oneof(
  fc.jsonValue({ maxDepth: 8 }),
  fc
    .record(
      {
        merge: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 5 }), { maxKeys: 5 }),
        inc: incTree,
      },
      { requiredKeys: [] },
    )
    .map(({ merge, inc }) => ({ ...(merge ?? {}), ...(inc ? { $inc: inc } : {}) })),
  fc
    .dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.integer({ min: -5, max: 400 }), fc.jsonValue()), {
      maxKeys: 4,
    })
    .map((rate) => ({ $rate: rate, $inc: Object.fromEntries(Object.keys(rate).map((k) => [k, 1])) })),
  // Deep nesting, past the depth limit.
  fc.integer({ min: 1, max: 200 }).map((d) => JSON.parse(`${'{"a":'.repeat(d)}1${'}'.repeat(d)}`) as unknown),
);

test('state patches and $inc: any document is an op or a refusal; applying it throws nothing else', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 5 }), patchDocument, (current, doc) => {
      const op = refusedOrDone(() => parseStatePatch(doc));
      if (op) refusedOrDone(() => applyStateOp(current as JsonValue, op));
      refusedOrDone(() => patchFromData(JSON.stringify(doc) ?? 'null'));
    }),
    { numRuns: RUNS },
  );
});

test('a store fed random changes never holds a state over its size or all states over the budget', async () => {
  const limits = { maxTopics: 8, maxStateBytes: 2048, maxTotalBytes: 12 * 1024 };
  const change = fc.tuple(
    fc.constantFrom('/a', '/b', '/c', '/d', '/e', '/f', '/g', '/h', '/i'),
    fc.oneof(
      patchDocument.map((d) => ({ patch: d })),
      fc.jsonValue({ maxDepth: 5 }).map((v) => ({ retain: v })),
    ),
    fc.boolean(),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(change, { minLength: 1, maxLength: 40 }), async (changes) => {
      const store = new MemoryStateStore({ limits });
      for (const [topic, c, priv] of changes) {
        const op = refusedOrDone(() =>
          'patch' in c ? parseStatePatch(c.patch) : retainedValue(JSON.stringify(c.retain) ?? 'null'),
        );
        if (!op) continue;
        try {
          await store.apply(topic, op, { private: priv });
        } catch (e) {
          if (!isHeraldError(e)) throw e;
        }
        assert.ok(store.heldBytes <= limits.maxTotalBytes, `holds ${store.heldBytes}`);
      }
      const all = await store.list(100);
      assert.ok(all.length <= limits.maxTopics);
      for (const e of all) assert.ok(Buffer.byteLength(e.json!) <= limits.maxStateBytes);
    }),
    { numRuns: 150 },
  );
});
