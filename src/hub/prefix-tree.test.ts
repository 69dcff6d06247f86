import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { PrefixTree } from './prefix-tree.ts';

interface Entry {
  prefix: string;
  weight: number;
}

/** The naive answers: a scan of every entry. */
function reachedBy(entries: Set<Entry>, text: string): Entry[] {
  return [...entries].filter((e) => text.startsWith(e.prefix));
}

function naiveLoad(entries: Set<Entry>, prefix: string, weight: number): number {
  // The heaviest text through `prefix` ends at `prefix` or at a held prefix extending it.
  const ends = [prefix, ...[...entries].map((e) => e.prefix).filter((p) => p.startsWith(prefix))];
  let best = 0;
  for (const end of ends)
    best = Math.max(
      best,
      reachedBy(entries, end).reduce((n, e) => n + e.weight, 0),
    );
  return best + weight;
}

const text = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 6 });
const op = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), prefix: text, weight: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
);

describe('PrefixTree', () => {
  test('finds exactly the items whose prefix starts a text, and the heaviest path, through adds and removes', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.array(text, { minLength: 3, maxLength: 3 }),
        (ops, probes) => {
          const tree = new PrefixTree<Entry>();
          const held = new Set<Entry>();
          for (const o of ops) {
            if (o.kind === 'add') {
              const e = { prefix: o.prefix, weight: o.weight };
              assert.equal(tree.loadWith(e.prefix, e.weight), naiveLoad(held, e.prefix, e.weight));
              tree.add(e.prefix, e, e.weight);
              held.add(e);
            } else if (held.size > 0) {
              const e = [...held][o.pick % held.size]!;
              tree.remove(e.prefix, e, e.weight);
              held.delete(e);
            }
            for (const p of probes) {
              const found: Entry[] = [];
              const steps = tree.forEachPrefixOf(p, (e) => found.push(e));
              assert.deepEqual(new Set(found), new Set(reachedBy(held, p)));
              assert.ok(steps <= p.length + 1);
            }
          }
          assert.equal(tree.size, held.size);
          for (const e of held) tree.remove(e.prefix, e, e.weight);
          assert.equal(tree.loadWith('', 0), 0, 'an emptied tree weighs nothing');
        },
      ),
      { numRuns: 500 },
    );
  });
});
