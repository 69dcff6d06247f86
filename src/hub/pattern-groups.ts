import type { Selector } from '../protocol/selector.ts';
import type { Subscription } from './subscription.ts';

type PatternSelector = Selector & { kind: 'urlpattern' };

/**
 * Subscriptions by draft-08 URL pattern. Like URI templates, each distinct pattern is tested
 * once per update however many subscribers share it; unlike them, a pattern does not match
 * its own text, so nothing goes into the exact-topic map.
 */
export class PatternGroups {
  readonly #groups = new Map<string, { selector: PatternSelector; subs: Set<Subscription> }>();

  add(sub: Subscription, selector: PatternSelector): void {
    let group = this.#groups.get(selector.source);
    if (!group) this.#groups.set(selector.source, (group = { selector, subs: new Set() }));
    group.subs.add(sub);
  }

  remove(sub: Subscription, selector: PatternSelector): void {
    const group = this.#groups.get(selector.source);
    if (!group) return;
    group.subs.delete(sub);
    if (group.subs.size === 0) this.#groups.delete(selector.source);
  }

  forEachMatch(topics: readonly string[], visit: (sub: Subscription) => void): void {
    for (const group of this.#groups.values()) {
      if (!topics.some((t) => group.selector.matcher.match(t))) continue;
      for (const sub of group.subs) visit(sub);
    }
  }

  matchCount(topic: string): number {
    let n = 0;
    for (const group of this.#groups.values()) if (group.selector.matcher.match(topic)) n += group.subs.size;
    return n;
  }

  /** Subscriptions per pattern (the dashboard's selector list). */
  counts(out: Map<string, number>): void {
    for (const [source, group] of this.#groups) out.set(source, (out.get(source) ?? 0) + group.subs.size);
  }

  has(source: string): boolean {
    return this.#groups.has(source);
  }
}
