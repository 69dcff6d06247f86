import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  compileExactMatcher,
  compileSelector,
  selectorMatches,
  type Selector,
} from '../protocol/selector.ts';
import { isExactTopic, topicFilter } from './topic-match.ts';

// The client's small matcher must answer exactly as the hub's (protocol/selector.ts): the
// hub delivers by its rule, and the client routes what it delivered by this one.

const OPS = ['', '+', '#', '.', '/', ';', '?', '&', '=', '!'];
const varName = fc.constantFrom('a', 'b', 'x1', 'a.b', 'v_2', 'a:3', 'list*', 'a,b', '', '-', 'a:0');
const pieces = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'ab/.;?&=,#-%é{}*'), maxLength: 3 }),
  fc.tuple(fc.constantFrom(...OPS), varName).map(([op, v]) => `{${op}${v}}`),
);
/** Mostly well-formed templates, some malformed (stray braces, bad names and operators). */
const selector = fc
  .array(pieces, { minLength: 1, maxLength: 7 })
  .map((parts) => parts.join(''))
  .chain((s) => fc.constantFrom(s, '*', '', `${s}\u200b`, `${s}\u0007`));
const topic = fc.string({ unit: fc.constantFrom(...'ab1/.;?&=,#-%é {}*:\u{1F600}'), maxLength: 14 });

/** What an expression might expand to: runs of characters of every class. */
const fill = fc.string({ unit: fc.constantFrom(...'ab/.;?&=,#%é:'), maxLength: 5 });

function hub(source: string, compile: (s: string) => Selector): Selector | undefined {
  try {
    return compile(source);
  } catch {
    return undefined;
  }
}

describe('client topic matching agrees with the hub', () => {
  test('draft-07 selectors: refused alike, and every topic matched alike', () => {
    fc.assert(
      fc.property(
        selector,
        fc.array(topic, { maxLength: 6 }),
        fc.array(fill, { minLength: 16, maxLength: 16 }),
        (source, topics, fills) => {
          const expected = hub(source, compileSelector);
          const filter = topicFilter(source);
          assert.equal(filter !== undefined, expected !== undefined, `refused alike: ${source}`);
          assert.equal(isExactTopic(source), expected?.kind === 'exact', `exact alike: ${source}`);
          if (!expected || !filter) return;
          // Topics built from the template's own text hit the interesting cases.
          let n = 0;
          const expanded = source.replace(
            /\{([^}]*)\}/g,
            (_m, body: string) => `${OPS.includes(body[0]!) ? body[0] : ''}${fills[n++]}`,
          );
          const probes = [
            ...topics,
            source,
            expanded,
            source.replace(/\{[^}]*\}/g, 'a'),
            source.replace(/\{[^}]*\}/g, ''),
          ];
          for (const t of probes) assert.equal(filter(t), selectorMatches(expected, t), `${source} vs ${t}`);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('draft-08 exact matchers: bytes only, `*` the wildcard', () => {
    fc.assert(
      fc.property(selector, topic, (source, t) => {
        const expected = hub(source, compileExactMatcher);
        const filter = topicFilter(source, 'draft-08');
        assert.equal(filter !== undefined, expected !== undefined);
        if (expected && filter) {
          assert.equal(filter(t), selectorMatches(expected, t));
          assert.equal(filter(source), true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('known cases', () => {
    const books = topicFilter('https://example.com/books/{id}')!;
    assert.equal(books('https://example.com/books/1'), true);
    assert.equal(books('https://example.com/books/1/2'), false);
    assert.equal(books('https://example.com/books/{id}'), true);
    assert.equal(topicFilter('https://example.com/{+path}')!('https://example.com/a/b?c=d'), true);
    assert.equal(topicFilter('https://example.com/x{?q,r}')!('https://example.com/x?q=1&r=2'), true);
    assert.equal(topicFilter('https://example.com/x{?q}')!('https://example.com/x&q=1'), false);
    assert.equal(
      topicFilter('https://example.com/books/{id}', 'draft-08')!('https://example.com/books/1'),
      false,
    );
    assert.equal(topicFilter('a{b'), undefined);
    assert.equal(topicFilter('a}'), undefined);
    assert.equal(topicFilter(`${'{a}'.repeat(17)}`), undefined);
    assert.equal(topicFilter('x'.repeat(2049)), undefined);
  });
});
