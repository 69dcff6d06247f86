import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { MATCH_STEPS_PER_WEIGHT, type MatchMeter, type TopicMatcher } from '../protocol/matcher.ts';
import { looksLikeTemplate } from '../protocol/uri-template.ts';
import { urlKey, type UrlPatternMatcher } from '../protocol/url-pattern.ts';
import type { Selector } from '../protocol/selector.ts';
import { PrefixTree } from './prefix-tree.ts';
import type { Subscription } from './subscription.ts';

/**
 * Budget for pattern selectors (URI templates and draft-08 URL patterns, counted together)
 * on this node; 0 means "no cap".
 */
export interface PatternBudget {
  /** Distinct compiled patterns (identical ones, whatever their variable names, count once). */
  maxPatterns: number;
  /** Their estimated compiled size, bytes. */
  maxBytes: number;
  /**
   * Summed weight (template expressions; groups and wildcards of URL patterns) of the
   * patterns one topic can be matched against: those whose literal prefix starts it. Bounds
   * matching work per topic (see INDEX_STEPS_PER_WEIGHT), for templates and for URL patterns
   * each.
   */
  maxWeightPerTopic: number;
  /** `Retry-After` (seconds) sent with a refusal. */
  retryAfterSeconds: number;
}

export const unlimitedPatterns: PatternBudget = {
  maxPatterns: 0,
  maxBytes: 0,
  maxWeightPerTopic: 0,
  retryAfterSeconds: 5,
};

/**
 * Matching one topic costs at most `INDEX_STEPS_PER_WEIGHT * maxWeightPerTopic *
 * (topic.length + 1)` counted steps against URI templates (the prefix walk, plus each
 * candidate's bounded match), and as much again against URL patterns (whose URL key is at
 * most as long as the resolved topic).
 */
export const INDEX_STEPS_PER_WEIGHT = MATCH_STEPS_PER_WEIGHT + 1;

/** Topics whose matching patterns are remembered (at most 2 048 characters each). */
const MATCH_CACHE_TOPICS = 1024;

/** A selector matched by a compiled matcher: a URI template or a URL pattern. */
type PatternSelector = Extract<Selector, { readonly kind: 'template' | 'urlpattern' }>;

interface PatternGroup {
  readonly matcher: TopicMatcher;
  /** Subscriptions, with how many of their selectors compile to this pattern. */
  readonly subs: Map<Subscription, number>;
  /** Selectors counted (the sum of `subs`' values). */
  refs: number;
  /** Dispatch in which this group last matched, so it is matched once per update. */
  hit: number;
}

/** What pattern selectors hold on this node (the hub's own accounting). */
export interface PatternUsage {
  /** Distinct compiled patterns (URI templates and URL patterns: what maxPatterns counts). */
  templates: number;
  /** Of which URL patterns. */
  urlPatterns: number;
  /** Their estimated compiled size, bytes. */
  bytes: number;
  /** Matcher steps counted since start (dispatch and the dashboard's counts). */
  matchSteps: number;
}

/**
 * Which subscriptions listen to what. Exact topics are a map lookup, so fan-out cost does not
 * grow with unrelated subscribers. Patterns are compiled once per canonical form and shared,
 * filed by literal prefix: a topic is matched only against the patterns whose prefix starts
 * it, each once per update however many subscribers share it, and the budget keeps that set
 * small enough for the work per topic to stay under a fixed bound. URL patterns are filed
 * the same way in a second tree, by prefix of the topic's URL key (its resolved
 * `protocol//host/path`), as relative topics and patterns resolve against the hub URL.
 */
export class TopicIndex {
  readonly #exact = new Map<string, Set<Subscription>>();
  readonly #patterns = new Map<string, PatternGroup>();
  /** URI templates held, by text, as shared selectors: a held text is not compiled again. */
  readonly #templates = new Map<string, { selector: PatternSelector; refs: number }>();
  readonly #byPrefix = new PrefixTree<PatternGroup>();
  /** URL patterns by URL-key prefix, per base URL (one: the hub's). */
  readonly #byUrlPrefix = new Map<string, PrefixTree<PatternGroup>>();
  /** URL-pattern selectors held per text (the dashboard's counts). */
  readonly #urlSources = new Map<string, number>();
  #urlPatternCount = 0;
  readonly #all = new Set<Subscription>();
  readonly #budget: PatternBudget;
  /** Counts every matcher step taken for this node's subscriptions (dispatch, snapshots, stats). */
  readonly meter: MatchMeter = { steps: 0 };
  #bytes = 0;
  #dispatch = 0;
  /**
   * Patterns matching each recently seen topic, so a topic published again costs lookups, not
   * matches. Valid for one set of patterns: adding a pattern bumps `#generation` and empties
   * it (a removed one just matches no subscription any more).
   */
  readonly #matchCache = new Map<string, PatternGroup[]>();
  #generation = 0;
  #cacheGeneration = 0;

  constructor(budget: Partial<PatternBudget> = {}) {
    this.#budget = { ...unlimitedPatterns, ...budget };
  }

  /**
   * Adds the subscription's selectors, all or none: a pattern the budget cannot take throws a
   * 429 HeraldError and leaves the index as it was. Returns the selectors to keep on the
   * subscription, patterns swapped for the shared compiled ones.
   */
  addAll(sub: Subscription, selectors: readonly Selector[]): Selector[] {
    const out: Selector[] = [];
    try {
      for (const sel of selectors) out.push(this.#add(sub, sel));
    } catch (e) {
      for (const sel of out) this.remove(sub, sel);
      throw e;
    }
    return out;
  }

  #add(sub: Subscription, selector: Selector): Selector {
    if (selector.kind === 'all') {
      this.#all.add(sub);
      return selector;
    }
    if (selector.kind === 'urlpattern') {
      const group = this.#join(sub, selector);
      this.#urlSources.set(selector.source, (this.#urlSources.get(selector.source) ?? 0) + 1);
      // A URL pattern does not match its own text: nothing goes into the exact map.
      // The group of a `urlpattern …` key holds a URL-pattern matcher.
      const shared = group.matcher as UrlPatternMatcher;
      return shared === selector.matcher ? selector : { ...selector, matcher: shared };
    }
    if (selector.kind === 'template') {
      const group = this.#join(sub, selector);
      if (group.matcher !== selector.matcher) selector = { ...selector, matcher: group.matcher };
      const held = this.#templates.get(selector.source);
      if (held) {
        held.refs++;
        selector = held.selector;
      } else this.#templates.set(selector.source, { selector, refs: 1 });
    }
    // A template selector also matches a topic equal to its own text (Mercure 07), which the
    // exact map covers.
    let exact = this.#exact.get(selector.source);
    if (!exact) this.#exact.set(selector.source, (exact = new Set()));
    exact.add(sub);
    return selector;
  }

  /** Counts one more selector of `sub` on the selector's shared pattern (admitted if new). */
  #join(sub: Subscription, selector: PatternSelector): PatternGroup {
    const group = this.#patterns.get(selector.matcher.key) ?? this.#admit(selector);
    group.subs.set(sub, (group.subs.get(sub) ?? 0) + 1);
    group.refs++;
    return group;
  }

  /** The tree a matcher is filed in: by topic text, or by URL key for URL patterns. */
  #treeOf(m: TopicMatcher): PrefixTree<PatternGroup> {
    if (m.urlBase === undefined) return this.#byPrefix;
    let tree = this.#byUrlPrefix.get(m.urlBase);
    if (!tree) this.#byUrlPrefix.set(m.urlBase, (tree = new PrefixTree()));
    return tree;
  }

  /** A new distinct pattern: within the budget, or refused. */
  #admit(selector: PatternSelector): PatternGroup {
    const b = this.#budget;
    const m = selector.matcher;
    const url = m.urlBase !== undefined;
    const kind = url ? 'URL patterns' : 'URI templates';
    if (b.maxPatterns > 0 && this.#patterns.size >= b.maxPatterns)
      throw this.#refuse(
        `the hub holds its limit of ${b.maxPatterns} distinct URI templates and URL patterns`,
      );
    if (b.maxBytes > 0 && this.#bytes + m.size > b.maxBytes)
      throw this.#refuse(`the hub's budget of ${b.maxBytes} bytes for compiled ${kind} is used up`);
    const tree = this.#treeOf(m);
    if (b.maxWeightPerTopic > 0 && tree.loadWith(m.prefix, m.weight) > b.maxWeightPerTopic) {
      const p = m.prefix.length > 40 ? `${m.prefix.slice(0, 40)}…` : m.prefix;
      throw this.#refuse(
        url
          ? `one topic could match more than ${b.maxWeightPerTopic} URL-pattern groups and wildcards (fixed prefix ${JSON.stringify(p)}; a fixed host and path start help)`
          : `one topic could match more than ${b.maxWeightPerTopic} URI-template expressions (literal prefix ${JSON.stringify(p)}; a longer literal prefix helps)`,
      );
    }
    const group: PatternGroup = { matcher: m, subs: new Map(), refs: 0, hit: 0 };
    this.#patterns.set(m.key, group);
    this.#generation++;
    tree.add(m.prefix, group, m.weight);
    this.#bytes += m.size;
    if (url) this.#urlPatternCount++;
    return group;
  }

  /** The shared selector of a URI template some subscription holds, if any. */
  heldTemplate(source: string): Selector | undefined {
    return this.#templates.get(source)?.selector;
  }

  #refuse(message: string): HeraldError {
    return new HeraldError(ErrorCode.templateBudget, message, { retryAfter: this.#budget.retryAfterSeconds });
  }

  remove(sub: Subscription, selector: Selector): void {
    if (selector.kind === 'all') {
      this.#all.delete(sub);
      return;
    }
    if (selector.kind === 'urlpattern') {
      const n = (this.#urlSources.get(selector.source) ?? 0) - 1;
      if (n > 0) this.#urlSources.set(selector.source, n);
      else this.#urlSources.delete(selector.source);
      this.#leave(sub, selector);
      return;
    }
    const exact = this.#exact.get(selector.source);
    if (exact) {
      exact.delete(sub);
      if (exact.size === 0) this.#exact.delete(selector.source);
    }
    if (selector.kind === 'template') {
      const group = this.#patterns.get(selector.matcher.key);
      if (!group?.subs.has(sub)) return;
      const held = this.#templates.get(selector.source);
      if (held && --held.refs === 0) this.#templates.delete(selector.source);
      this.#leave(sub, selector);
    }
  }

  /** Counts one selector of `sub` less on its shared pattern; drops the pattern at zero. */
  #leave(sub: Subscription, selector: PatternSelector): void {
    const group = this.#patterns.get(selector.matcher.key);
    const n = group?.subs.get(sub);
    if (!group || n === undefined) return;
    if (n > 1) group.subs.set(sub, n - 1);
    else group.subs.delete(sub);
    if (--group.refs === 0) {
      const m = group.matcher;
      this.#patterns.delete(m.key);
      const tree = this.#treeOf(m);
      tree.remove(m.prefix, group, m.weight);
      if (m.urlBase !== undefined) {
        this.#urlPatternCount--;
        if (tree.size === 0) this.#byUrlPrefix.delete(m.urlBase);
      }
      this.#bytes -= m.size;
    }
  }

  /**
   * Calls `visit` for every subscription matching any of the topics (possibly more than
   * once). Matching work is counted, and bounded per topic by the budget.
   */
  forEachMatch(topics: readonly string[], visit: (sub: Subscription) => void): void {
    for (const topic of topics) {
      const exact = this.#exact.get(topic);
      if (exact) for (const sub of exact) visit(sub);
    }
    if (this.#patterns.size > 0) {
      const stamp = ++this.#dispatch;
      for (const topic of topics) {
        for (const group of this.#groupsMatching(topic)) {
          if (group.hit === stamp) continue;
          group.hit = stamp;
          for (const sub of group.subs.keys()) visit(sub);
        }
      }
    }
    for (const sub of this.#all) visit(sub);
  }

  /** Number of subscriptions per selector text (the dashboard's topic list). */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [topic, subs] of this.#exact) out.set(topic, subs.size);
    if (this.#all.size > 0) out.set('*', this.#all.size);
    for (const [source, n] of this.#urlSources) out.set(source, (out.get(source) ?? 0) + n);
    return out;
  }

  /** Whether `source` is a selector that is not itself a topic (`*` or a URI template). */
  isPattern(source: string): boolean {
    return source === '*' || looksLikeTemplate(source) || this.#urlSources.has(source);
  }

  /**
   * Subscriptions listening to `topic`, counted once per selector that matches it: a
   * subscription whose several selectors match counts once for each. Costs one lookup plus
   * the bounded match of the patterns filed under the topic's prefixes.
   */
  matchCount(topic: string): number {
    let n = (this.#exact.get(topic)?.size ?? 0) + this.#all.size;
    // A template never matches its own text (no expression admits `{`), so the exact map's
    // count for a topic equal to a template's text is not counted twice.
    if (this.#patterns.size > 0) for (const group of this.#groupsMatching(topic)) n += group.refs;
    return n;
  }

  /** The patterns matching `topic`: from the cache, or the bounded matches of its prefix path. */
  #groupsMatching(topic: string): PatternGroup[] {
    const cache = this.#matchCache;
    if (this.#cacheGeneration !== this.#generation) {
      cache.clear();
      this.#cacheGeneration = this.#generation;
    }
    let groups = cache.get(topic);
    if (groups) {
      // Least recently used goes first: refresh this one.
      cache.delete(topic);
      cache.set(topic, groups);
      return groups;
    }
    const found: PatternGroup[] = [];
    const walked = this.#byPrefix.forEachPrefixOf(topic, (group) => {
      if (group.matcher.match(topic, this.meter)) found.push(group);
    });
    // Added after the walk: the matches above add their own steps to the meter.
    this.meter.steps += walked;
    for (const [base, tree] of this.#byUrlPrefix) {
      const key = urlKey(topic, base);
      if (key === undefined) continue;
      this.meter.steps +=
        topic.length +
        tree.forEachPrefixOf(key, (group) => {
          if (group.matcher.match(topic, this.meter)) found.push(group);
        });
    }
    groups = found;
    if (cache.size >= MATCH_CACHE_TOPICS) cache.delete(cache.keys().next().value!);
    cache.set(topic, groups);
    return groups;
  }

  usage(): PatternUsage {
    return {
      templates: this.#patterns.size,
      urlPatterns: this.#urlPatternCount,
      bytes: this.#bytes,
      matchSteps: this.meter.steps,
    };
  }
}
