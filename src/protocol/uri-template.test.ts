import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeraldError } from './errors.ts';
import { compileSelector, selectorMatches } from './selector.ts';
import { compileTemplate } from './uri-template.ts';

const matches = (template: string, topic: string) => compileTemplate(template).match(topic);

describe('URI template selectors (RFC 6570 as Mercure uses them)', () => {
  test('simple expansion matches one path segment, not across slashes', () => {
    assert.ok(matches('https://example.com/books/{id}', 'https://example.com/books/42'));
    assert.ok(matches('https://example.com/books/{id}', 'https://example.com/books/'));
    assert.ok(!matches('https://example.com/books/{id}', 'https://example.com/books/4/2'));
    assert.ok(!matches('https://example.com/books/{id}', 'https://example.com/book/42'));
    assert.ok(matches('https://example.com/{a}/{b}', 'https://example.com/x/y'));
    assert.ok(matches('https://example.com/books/{id}', 'https://example.com/books/caf%C3%A9'));
  });

  test('reserved expansion {+x} spans slashes; fragment {#x} is optional', () => {
    assert.ok(
      matches('https://app.example/tenants/42/{+rest}', 'https://app.example/tenants/42/jobs/7/logs'),
    );
    assert.ok(!matches('https://app.example/tenants/42/{+rest}', 'https://app.example/tenants/43/jobs'));
    assert.ok(matches('https://x/page{#section}', 'https://x/page#intro'));
    assert.ok(matches('https://x/page{#section}', 'https://x/page'));
  });

  test('label, path, matrix, query and continuation operators', () => {
    assert.ok(matches('https://x/file{.ext}', 'https://x/file.json'));
    assert.ok(matches('https://x{/segments*}', 'https://x/a/b/c'));
    assert.ok(matches('https://x/map{;lat,long}', 'https://x/map;lat=1;long=2'));
    assert.ok(
      matches(
        'https://example.com/users/foo/{?topic}',
        'https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F9',
      ),
    );
    assert.ok(matches('https://x/s?q=1{&page}', 'https://x/s?q=1&page=2'));
    assert.ok(!matches('https://example.com/users/foo/{?topic}', 'https://example.com/users/bar/?topic=x'));
  });

  test('literal regex characters in a template are literal', () => {
    assert.ok(matches('https://x/a.b+c/{id}', 'https://x/a.b+c/1'));
    assert.ok(!matches('https://x/a.b+c/{id}', 'https://x/aXb+c/1'));
  });

  test('malformed templates are refused with a reason', () => {
    for (const [t, reason] of [
      ['https://x/{id', /unclosed/],
      ['https://x/id}', /unmatched/],
      ['https://x/{a{b}}', /nested/],
      ['https://x/{}', /invalid variable/],
      ['https://x/{a b}', /invalid variable/],
      ['https://x/' + '{a}'.repeat(17), /more than 16 expressions/],
    ] as const) {
      assert.throws(
        () => compileTemplate(t),
        (e: unknown) => e instanceof HeraldError && e.status === 400 && reason.test(e.message),
        t,
      );
    }
  });

  test('adversarial templates against long topics still answer (matching is linear, no backtracking)', () => {
    const t = compileTemplate('{a}-{b}-{c}-{d}-{e}-{f}-{g}-{h}!');
    assert.equal(t.match('-'.repeat(2000) + '?'), false);
    const r = compileTemplate('{+a}/{+b}/{+c}/{+d}/{+e}x');
    assert.equal(r.match('/'.repeat(2000) + 'y'), false);
  });
});

describe('selectors', () => {
  test('* matches everything; a template also matches its own text (Mercure 07)', () => {
    assert.ok(selectorMatches(compileSelector('*'), 'anything'));
    const sel = compileSelector('https://example.com/books/{id}');
    assert.ok(selectorMatches(sel, 'https://example.com/books/{id}'));
    assert.ok(selectorMatches(compileSelector('urn:exact'), 'urn:exact'));
    assert.ok(!selectorMatches(compileSelector('urn:exact'), 'urn:exact2'));
  });

  test('empty, over-long and control-character selectors are refused', () => {
    assert.throws(() => compileSelector(''), /must not be empty/);
    assert.throws(() => compileSelector('x'.repeat(2049)), /longer than 2048/);
    assert.throws(() => compileSelector('a\nb'), /control character/);
  });
});
