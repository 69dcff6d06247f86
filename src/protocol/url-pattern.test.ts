import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isHeraldError } from './errors.ts';
import { ReservedNamespace } from './reserved.ts';
import { compileMatcher, selectorMatches } from './selector.ts';
import { compileUrlPattern } from './url-pattern.ts';

const HUB = 'https://hub.example/.well-known/mercure';

describe('draft-08 matchers', () => {
  test('exact compares bytes: no template, no normalization, no resolution against the hub URL', () => {
    const m = compileMatcher({ match: 'https://example.net/foo/{x}', type: 'exact' }, HUB);
    assert.ok(selectorMatches(m, 'https://example.net/foo/{x}'));
    assert.ok(!selectorMatches(m, 'https://example.net/foo/abc'));
    const rel = compileMatcher({ match: '/books/1', type: 'exact' }, HUB);
    assert.ok(!selectorMatches(rel, 'https://hub.example/books/1'));
    assert.ok(!selectorMatches(compileMatcher({ match: 'caf\u00e9', type: 'exact' }), 'cafe\u0301'));
    assert.ok(selectorMatches(compileMatcher({ match: '*', type: 'urlpattern' }), 'anything at all'));
  });

  test('urlpattern: relative patterns and topics resolve against the hub URL; non-URL topics never match', () => {
    const m = compileMatcher({ match: '/books/:id', type: 'urlpattern' }, HUB);
    assert.ok(selectorMatches(m, '/books/1'));
    assert.ok(selectorMatches(m, 'https://hub.example/books/1'));
    assert.ok(!selectorMatches(m, 'https://other.example/books/1'));
    assert.ok(!selectorMatches(m, '/books/1/2'));
    const abs = compileMatcher({ match: 'https://example.com/:a', type: 'urlpattern' }, HUB);
    assert.ok(!selectorMatches(abs, 'https://example.com/A/b'));
    assert.ok(selectorMatches(abs, 'https://EXAMPLE.com/x'), 'hosts compare case-insensitively');
    assert.ok(!selectorMatches(abs, 'http://[bad'), 'an unparsable topic does not match');
  });

  test('patterns whose regular expression could backtrack badly are refused with a reason', () => {
    for (const [pattern, reason] of [
      ['/:a-:b', /two groups/],
      ['/x/:a:b', /two groups/],
      ['https://:a.:b-:c.example/', /two groups/],
      ['/(a+)+b', /regexp groups/],
      ['/(\\d+)', /regexp groups/],
      ['/*/a/*/b/*', /more than 2/],
      ['/:a+/:b+/:c+', /more than 2/],
      ['/' + 'x'.repeat(3000), /longer than/],
      ['not ( a pattern', /not a valid URL pattern/],
    ] as const) {
      assert.throws(
        () => compileUrlPattern(pattern, HUB),
        (e: unknown) => isHeraldError(e) && e.code === 'HERALD_ERR_BAD_SELECTOR' && reason.test(e.message),
        pattern,
      );
    }
  });

  test('a compiled pattern is reused for the same source and base', () => {
    assert.equal(compileUrlPattern('/r/:id', HUB), compileUrlPattern('/r/:id', HUB));
    assert.notEqual(compileUrlPattern('/r/:id', HUB), compileUrlPattern('/r/:id', 'https://b.example/'));
  });
});

describe('the reserved namespace', () => {
  test('follows the hub path, resolves dot segments and unreserved %-escapes, ignores scheme and host', () => {
    const ns = new ReservedNamespace('https://hub.example/api/mercure');
    for (const t of [
      '/api/mercure',
      '/api/mercure/subscriptions/x',
      'https://anything.example/api/mercure/subscriptions/x',
      '/api/%6Dercure/x',
      '/api/%6dercure',
      '/a/b/../../api/mercure/x',
      '/api/%2e%2e/api/mercure/x',
      'mercure/x',
      '/.well-known/herald/stats',
    ])
      assert.ok(ns.contains(t), t);
    for (const t of ['/api/mercurex', '/.well-known/mercure/x', 'urn:uuid:1', 'api/mercure/x', '/api/mercure%2Fx'])
      assert.ok(!ns.contains(t), t);
  });
});
