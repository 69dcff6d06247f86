import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS } from '../auth/principal.ts';
import { HeraldError } from '../protocol/errors.ts';
import fc from 'fast-check';
import { compileMatcher } from '../protocol/matchers.ts';
import { compileSelector, selectorMatches } from '../protocol/selector.ts';
import type { Sink } from './sink.ts';
import { Subscription } from './subscription.ts';
import { INDEX_STEPS_PER_WEIGHT, TopicIndex } from './topic-index.ts';

const sink = { transport: 'sse' } as unknown as Sink;
let n = 0;
const newSub = () => new Subscription(`s${n++}`, ANONYMOUS, sink, []);

function matched(index: TopicIndex, topics: string[]): Set<Subscription> {
  const out = new Set<Subscription>();
  index.forEachMatch(topics, (s) => out.add(s));
  return out;
}

describe('TopicIndex with URI templates', () => {
  test('templates that differ only in variable names share one compiled matcher and one budget entry', () => {
    const index = new TopicIndex();
    const a = newSub();
    const b = newSub();
    const c = newSub();
    const [sa] = index.addAll(a, [compileSelector('https://x/{id}')]);
    const [sb] = index.addAll(b, [compileSelector('https://x/{other}')]);
    assert.ok(sa && sb && 'matcher' in sa && 'matcher' in sb);
    assert.equal(sa.matcher, sb.matcher);
    assert.equal(index.usage().templates, 1);
    assert.equal(index.heldTemplate('https://x/{id}'), sa, 'a held text is not compiled again');
    const [sc] = index.addAll(c, [compileSelector('https://x/{id}')]);
    assert.equal(sc, sa, 'subscriptions to the same text share one selector');
    assert.deepEqual(matched(index, ['https://x/1']), new Set([a, b, c]));
    index.remove(newSub(), sa);
    index.remove(a, sa);
    assert.equal(index.heldTemplate('https://x/{id}'), sa, 'still held by c');
    assert.deepEqual(matched(index, ['https://x/1']), new Set([b, c]));
    index.remove(b, sb);
    index.remove(c, sc!);
    assert.deepEqual(index.usage(), {
      templates: 0,
      urlPatterns: 0,
      bytes: 0,
      matchSteps: index.usage().matchSteps,
    });
    assert.equal(index.heldTemplate('https://x/{id}'), undefined);
    assert.equal(matched(index, ['https://x/1']).size, 0);
  });

  test('a set of selectors is added all or nothing: one template over budget leaves no trace', () => {
    const index = new TopicIndex({ maxPatterns: 2 });
    const sub = newSub();
    const selectors = ['urn:a', 'https://x/{a}', 'https://y/{a}', 'https://z/{a}'].map(compileSelector);
    assert.throws(
      () => index.addAll(sub, selectors),
      (e: unknown) => e instanceof HeraldError && e.code === 'HERALD_ERR_TEMPLATE_BUDGET' && e.status === 429,
    );
    assert.equal(index.usage().templates, 0);
    assert.equal(index.counts().size, 0);
    assert.equal(matched(index, ['urn:a', 'https://x/1']).size, 0);
  });

  test('templates on unrelated prefixes do not count against each other; the same prefix path does', () => {
    const index = new TopicIndex({ maxWeightPerTopic: 3 });
    for (let i = 0; i < 50; i++) index.addAll(newSub(), [compileSelector(`https://app/users/${i}/{+rest}`)]);
    index.addAll(newSub(), [compileSelector('https://app/{a}/{b}')]);
    assert.throws(
      () => index.addAll(newSub(), [compileSelector('https://app/users/7/{a}x')]),
      (e: unknown) => e instanceof HeraldError && /one topic could match more than 3/.test(e.message),
    );
    assert.throws(() => index.addAll(newSub(), [compileSelector('{+any}')]), /one topic/);
  });

  test('the work of one topic is counted and stays within the documented bound', () => {
    const perTopic = 64;
    const index = new TopicIndex({ maxWeightPerTopic: perTopic });
    for (let i = 0; ; i++) {
      let t = '';
      for (let j = 0; j < 15; j++) t += `{+v${j}}${'x'.repeat(1 + ((i >> j) & 1))}`;
      try {
        index.addAll(newSub(), [compileSelector(`${t}{p}`)]);
      } catch {
        break;
      }
    }
    const topic = `${'x'.repeat(2047)}#`;
    const before = index.usage().matchSteps;
    assert.equal(matched(index, [topic]).size, 0);
    const steps = index.usage().matchSteps - before;
    // Four templates of 16 expressions, each swept over the whole topic: the work is real.
    assert.ok(steps >= 4 * 16 * topic.length, `${steps} steps`);
    assert.ok(steps <= INDEX_STEPS_PER_WEIGHT * perTopic * (topic.length + 1), `${steps} steps`);
  });

  test('a topic published again is answered from the match cache; a new or removed template is seen at once', () => {
    const index = new TopicIndex();
    const a = newSub();
    const [sa] = index.addAll(a, [compileSelector('https://x/{+rest}')]);
    const topic = 'https://x/a/b/c';
    assert.deepEqual(matched(index, [topic]), new Set([a]));
    const steps = index.usage().matchSteps;
    assert.deepEqual(matched(index, [topic]), new Set([a]));
    assert.equal(index.usage().matchSteps, steps, 'no matching the second time');
    const b = newSub();
    index.addAll(b, [compileSelector('https://x/{a}/{b}/{c}')]);
    assert.deepEqual(matched(index, [topic]), new Set([a, b]), 'the new template is matched');
    index.remove(a, sa!);
    assert.deepEqual(matched(index, [topic]), new Set([b]), 'the removed one delivers nothing');
    assert.equal(index.matchCount(topic), 1);
  });
});

describe('TopicIndex with URL patterns (draft-08 match_urlpattern)', () => {
  const HUB = 'https://hub.example/.well-known/mercure';
  const pattern = (source: string) => compileMatcher({ match: source, type: 'urlpattern' }, HUB);

  test('the URL-key index finds exactly what matching every pattern would', () => {
    const hosts = [
      'example.net',
      'EXAMPLE.net',
      'hub.example',
      'h1.example',
      '*.example',
      ':sub.example.net',
    ];
    const paths = [
      '/books/:id',
      '/books/:id?',
      '/books{/:id}?',
      '/books/*',
      '/b%C3%BCcher/:id',
      '/books',
      '/*',
      '/:a/x',
    ];
    const patterns = fc.array(
      fc.oneof(
        fc
          .tuple(
            fc.constantFrom('https', 'http', 'http{s}?', '*'),
            fc.constantFrom(...hosts),
            fc.constantFrom(...paths),
          )
          .map(([p, h, path]) => `${p}://${h}${path}`),
        fc.constantFrom(...paths),
        fc.constantFrom(
          'urn\\:books\\:*',
          'https://example.net:8443/books/:id',
          'https://u:p@example.net/books/:id',
        ),
      ),
      { minLength: 1, maxLength: 8 },
    );
    const topic = fc.oneof(
      fc
        .tuple(
          fc.constantFrom('https://', 'http://', 'HTTPS://', 'https://u:p@', ''),
          fc.constantFrom(
            'example.net',
            'Example.NET',
            'hub.example',
            'h1.example',
            'example.network',
            'example.net:8443',
          ),
          fc.constantFrom(
            '/books',
            '/books/',
            '/books/1',
            '/books/1/2',
            '/bücher/1',
            '/b%C3%BCcher/1',
            '/x',
            '',
            '/./books/1',
          ),
          fc.constantFrom('', '?q=1', '#f'),
        )
        .map(([s, h, p, q]) => (s === '' ? `${p}${q}` : `${s}${h}${p}${q}`)),
      fc.constantFrom('urn:books:1', 'not a url', 'http://[bad', '/books/7', 'books/7'),
    );
    fc.assert(
      fc.property(patterns, fc.array(topic, { minLength: 1, maxLength: 6 }), (sources, topics) => {
        const index = new TopicIndex();
        const subs = sources.map(() => newSub());
        const selectors = sources.map((s) => {
          try {
            return pattern(s);
          } catch {
            return undefined; // refused as too costly or malformed: not indexed either
          }
        });
        selectors.forEach((sel, i) => sel && index.addAll(subs[i]!, [sel]));
        for (const t of topics) {
          const expected = new Set(subs.filter((_, i) => selectors[i] && selectorMatches(selectors[i], t)));
          assert.deepEqual(matched(index, [t]), expected, `topic ${t}, patterns ${JSON.stringify(sources)}`);
          assert.equal(index.matchCount(t), expected.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a flood of patterns on other hosts and paths is never visited: steps stay within the bound', () => {
    const perTopic = 64;
    const index = new TopicIndex({ maxWeightPerTopic: perTopic });
    for (let i = 0; i < 3000; i++) index.addAll(newSub(), [pattern(`https://h${i}.evil.example/:section/*`)]);
    for (let i = 0; i < 3000; i++) index.addAll(newSub(), [pattern(`/rooms/${i}/:msg`)]);
    assert.equal(index.usage().urlPatterns, 6000);
    const target = newSub();
    index.addAll(target, [pattern('https://h42.evil.example/:section/*')]);
    const cost = (topic: string) => {
      const before = index.usage().matchSteps;
      const subs = matched(index, [topic]);
      return { subs, steps: index.usage().matchSteps - before };
    };
    // No pattern on this host: the walk only, no pattern matched at all.
    const unrelated = 'https://quiet.example/a/b';
    const none = cost(unrelated);
    assert.equal(none.subs.size, 0);
    assert.ok(
      none.steps <= 3 * (unrelated.length + 1),
      `${none.steps} steps for a topic no pattern can match`,
    );
    // One host's pattern (shared by two subscribers) among 6 000: one match, not 6 000.
    const topic = 'https://h42.evil.example/news/today';
    const one = cost(topic);
    assert.equal(one.subs.size, 2);
    const bound = INDEX_STEPS_PER_WEIGHT * perTopic * (topic.length + 1);
    assert.ok(one.steps <= bound, `${one.steps} steps, bound ${bound}`);
    // A linear scan would have matched every pattern: at least one step per pattern and character.
    assert.ok(one.steps < 6000, `${one.steps} steps`);
    // Relative patterns resolve against the hub: `/rooms/7/x` is indexed under the hub's host.
    const rel = cost('/rooms/7/hello');
    assert.equal(rel.subs.size, 1);
    assert.ok(rel.steps < 200, `${rel.steps} steps`);
    // Published again: answered from the match cache, no matching at all.
    assert.equal(cost(topic).steps, 0);
  });

  test('patterns without a fixed host share the per-topic budget: past it a flood is refused with 429 and one line', () => {
    const index = new TopicIndex({ maxWeightPerTopic: 20 });
    let admitted = 0;
    let refusal: unknown;
    for (let i = 0; i < 1000 && refusal === undefined; i++) {
      try {
        // Weight 3: the host wildcard (a group that repeats) and the path group.
        index.addAll(newSub(), [pattern(`https://*.x${i}.example/:id`)]);
        admitted++;
      } catch (e) {
        refusal = e;
      }
    }
    assert.equal(admitted, 6);
    assert.ok(refusal instanceof HeraldError);
    assert.equal(refusal.code, 'HERALD_ERR_TEMPLATE_BUDGET');
    assert.equal(refusal.status, 429);
    assert.match(
      refusal.message,
      /^one topic could match more than 20 URL-pattern groups and wildcards \(fixed prefix "https:\/\/"/,
    );
    assert.ok(!refusal.message.includes('\n'));
    // Patterns with a fixed host are still welcome: they do not weigh on other hosts' topics.
    index.addAll(newSub(), [pattern('https://fixed.example/:id')]);
    assert.equal(matched(index, ['https://a.x3.example/1']).size, 1);
  });

  test('URL patterns count toward the same distinct-pattern and byte budgets as templates, and free them', () => {
    const index = new TopicIndex({ maxPatterns: 3 });
    const sub = newSub();
    const [t] = index.addAll(sub, [compileSelector('https://x/{id}')]);
    const [a] = index.addAll(sub, [pattern('https://a.example/:id')]);
    index.addAll(newSub(), [pattern('https://a.example/:id')]); // shared: not a new pattern
    index.addAll(sub, [pattern('https://b.example/:id')]);
    assert.deepEqual(
      { templates: index.usage().templates, urlPatterns: index.usage().urlPatterns },
      { templates: 3, urlPatterns: 2 },
    );
    assert.throws(
      () => index.addAll(newSub(), [pattern('https://c.example/:id')]),
      (e: unknown) =>
        e instanceof HeraldError &&
        e.code === 'HERALD_ERR_TEMPLATE_BUDGET' &&
        /limit of 3 distinct URI templates and URL patterns/.test(e.message),
    );
    index.remove(sub, t!);
    index.addAll(newSub(), [pattern('https://c.example/:id')]);
    index.remove(sub, a!);
    assert.equal(index.usage().urlPatterns, 3, 'a.example is still held by its other subscriber');
    assert.equal(index.counts().get('https://a.example/:id'), 1);
    assert.ok(index.isPattern('https://a.example/:id'));

    const small = new TopicIndex({ maxBytes: 12_000 });
    small.addAll(newSub(), [pattern('https://a.example/:id')]);
    small.addAll(newSub(), [pattern('https://b.example/:id')]);
    assert.throws(
      () => small.addAll(newSub(), [pattern('https://c.example/:id')]),
      (e: unknown) =>
        e instanceof HeraldError && /budget of 12000 bytes for compiled URL patterns/.test(e.message),
    );
  });
});
