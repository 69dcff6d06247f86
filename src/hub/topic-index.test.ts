import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS } from '../auth/principal.ts';
import { HeraldError } from '../protocol/errors.ts';
import { compileSelector } from '../protocol/selector.ts';
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
    assert.deepEqual(index.usage(), { templates: 0, bytes: 0, matchSteps: index.usage().matchSteps });
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
