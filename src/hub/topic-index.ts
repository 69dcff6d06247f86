import type { Selector } from '../protocol/selector.ts';
import { PatternGroups } from './pattern-groups.ts';
import type { Subscription } from './subscription.ts';

interface TemplateGroup {
  selector: Selector & { kind: 'template' };
  subs: Set<Subscription>;
}

/**
 * Which subscriptions listen to what. Exact topics are a map lookup, so fan-out cost does not
 * grow with unrelated subscribers; each distinct template is matched once per update, however
 * many subscribers share it.
 */
export class TopicIndex {
  readonly #exact = new Map<string, Set<Subscription>>();
  readonly #templates = new Map<string, TemplateGroup>();
  readonly #all = new Set<Subscription>();
  readonly #patterns = new PatternGroups();

  add(sub: Subscription, selector: Selector): void {
    if (selector.kind === 'all') {
      this.#all.add(sub);
      return;
    }
    if (selector.kind === 'urlpattern') return this.#patterns.add(sub, selector);
    // A template selector also matches a topic equal to its own text (Mercure 07), which the
    // exact map covers.
    let exact = this.#exact.get(selector.source);
    if (!exact) this.#exact.set(selector.source, (exact = new Set()));
    exact.add(sub);
    if (selector.kind === 'template') {
      let group = this.#templates.get(selector.source);
      if (!group) this.#templates.set(selector.source, (group = { selector, subs: new Set() }));
      group.subs.add(sub);
    }
  }

  remove(sub: Subscription, selector: Selector): void {
    if (selector.kind === 'all') {
      this.#all.delete(sub);
      return;
    }
    if (selector.kind === 'urlpattern') return this.#patterns.remove(sub, selector);
    const exact = this.#exact.get(selector.source);
    if (exact) {
      exact.delete(sub);
      if (exact.size === 0) this.#exact.delete(selector.source);
    }
    if (selector.kind === 'template') {
      const group = this.#templates.get(selector.source);
      if (group) {
        group.subs.delete(sub);
        if (group.subs.size === 0) this.#templates.delete(selector.source);
      }
    }
  }

  /** Calls `visit` for every subscription matching any of the topics (possibly more than once). */
  forEachMatch(topics: readonly string[], visit: (sub: Subscription) => void): void {
    for (const topic of topics) {
      const exact = this.#exact.get(topic);
      if (exact) for (const sub of exact) visit(sub);
    }
    for (const group of this.#templates.values()) {
      let hit = false;
      for (const topic of topics) {
        if (group.selector.matcher.match(topic)) {
          hit = true;
          break;
        }
      }
      if (hit) for (const sub of group.subs) visit(sub);
    }
    this.#patterns.forEachMatch(topics, visit);
    for (const sub of this.#all) visit(sub);
  }

  /** Number of subscriptions per selector (the dashboard's topic list). */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [topic, subs] of this.#exact) out.set(topic, subs.size);
    if (this.#all.size > 0) out.set('*', this.#all.size);
    this.#patterns.counts(out);
    return out;
  }

  /** Whether `source` is a selector that is not itself a topic (`*` or a URI template). */
  isPattern(source: string): boolean {
    return source === '*' || this.#templates.has(source) || this.#patterns.has(source);
  }

  /**
   * Subscriptions listening to `topic`, counted once per selector that matches it: a
   * subscription whose several selectors match counts once for each. Costs one lookup plus
   * one match per distinct template, never a walk over subscribers.
   */
  matchCount(topic: string): number {
    let n = (this.#exact.get(topic)?.size ?? 0) + this.#all.size + this.#patterns.matchCount(topic);
    for (const [source, group] of this.#templates) {
      // The exact map already counted a template's subscribers for a topic equal to its text.
      if (source !== topic && group.selector.matcher.match(topic)) n += group.subs.size;
    }
    return n;
  }
}
