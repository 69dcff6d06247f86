// Draft-08 matchers and token selector sets: the server side of selectors. URL patterns
// (and their polyfill) live here, not in selector.ts, which the browser client bundles.
import {
  checkSource,
  compileSelector,
  DEFAULT_HUB_URL,
  selectorMatches,
  type MatcherSpec,
  type Selector,
} from './selector.ts';
import { compileUrlPattern } from './url-pattern.ts';

/**
 * Compiles a draft-08 matcher. `*` is the wildcard whatever the type; `exact` compares bytes
 * (a `{` is just a character); `urlpattern` resolves relative patterns against `hubUrl`.
 */
export function compileMatcher(spec: MatcherSpec, hubUrl: string = DEFAULT_HUB_URL): Selector {
  checkSource(spec.match);
  if (spec.match === '*') return { kind: 'all', source: '*', type: spec.type };
  if (spec.type === 'exact') return { kind: 'exact', source: spec.match, type: 'exact' };
  return {
    kind: 'urlpattern',
    source: spec.match,
    type: 'urlpattern',
    matcher: compileUrlPattern(spec.match, hubUrl),
  };
}

/** A set of selectors as granted by a token (draft-07 claim strings or draft-08 matchers). */
export class SelectorSet {
  readonly selectors: readonly Selector[];
  /** Stable key for caching decisions per distinct claim set. */
  readonly key: string;

  constructor(sources: readonly (string | MatcherSpec)[], hubUrl: string = DEFAULT_HUB_URL) {
    this.selectors = sources.map((s) =>
      typeof s === 'string' ? compileSelector(s) : compileMatcher(s, hubUrl),
    );
    this.key = JSON.stringify(sources.some((s) => typeof s !== 'string') ? [hubUrl, sources] : sources);
  }

  matchesTopic(topic: string): boolean {
    for (const s of this.selectors) if (selectorMatches(s, topic)) return true;
    return false;
  }

  matchesAny(topics: readonly string[]): boolean {
    for (const t of topics) if (this.matchesTopic(t)) return true;
    return false;
  }

  matchesAll(topics: readonly string[]): boolean {
    for (const t of topics) if (!this.matchesTopic(t)) return false;
    return true;
  }
}
