import { ErrorCode, HeraldError } from './errors.ts';
import { exactMatches } from './match-exact.ts';
import { compileUrlPattern, type TopicMatcher as UrlPatternMatcher } from './url-pattern.ts';
import { compileTemplate, looksLikeTemplate, type TemplateMatcher } from './uri-template.ts';

/**
 * How a selector's text is read. `topic`: a draft-07 selector (exact topic or RFC 6570 URI
 * template); `exact` and `urlpattern`: the draft-08 matcher types of the same names.
 */
export type MatchType = 'topic' | 'exact' | 'urlpattern';

/** A draft-08 topic matcher as a request or a token names it. */
export interface MatcherSpec {
  readonly match: string;
  readonly type: 'exact' | 'urlpattern';
}

/** A compiled topic selector: `*`, an exact topic, a URI template or a URL pattern. */
export type Selector =
  | { readonly kind: 'all'; readonly source: '*'; readonly type: MatchType }
  | { readonly kind: 'exact'; readonly source: string; readonly type: MatchType }
  | {
      readonly kind: 'template';
      readonly source: string;
      readonly type: 'topic';
      readonly matcher: TemplateMatcher;
    }
  | {
      readonly kind: 'urlpattern';
      readonly source: string;
      readonly type: 'urlpattern';
      readonly matcher: UrlPatternMatcher;
    };

export const MAX_SELECTOR_LENGTH = 2048;

/** Base URL for relative URL patterns when the caller names none (the default hub URL). */
export const DEFAULT_HUB_URL = 'http://localhost/.well-known/mercure';

// C0, DEL, C1 and Unicode format characters (Cf: bidi and zero-width controls): refused in
// every selector, since no valid topic contains them (draft-08 refuses them in matchers).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const FORMAT = /\p{Cf}/u;

function checkSource(source: string): void {
  if (source === '') throw new HeraldError(ErrorCode.badSelector, 'topic selector must not be empty');
  if (source.length > MAX_SELECTOR_LENGTH)
    throw new HeraldError(
      ErrorCode.badSelector,
      `topic selector longer than ${MAX_SELECTOR_LENGTH} characters`,
    );
  if (CONTROL.test(source))
    throw new HeraldError(ErrorCode.badSelector, 'topic selector contains a control character');
  if (FORMAT.test(source))
    throw new HeraldError(ErrorCode.badSelector, 'topic selector contains a Unicode format (Cf) character');
}

/** Compiles a draft-07 selector (`topic=`, `mercure.subscribe`): `*`, exact, or URI template. */
export function compileSelector(source: string): Selector {
  checkSource(source);
  if (source === '*') return { kind: 'all', source, type: 'topic' };
  if (looksLikeTemplate(source))
    return { kind: 'template', source, type: 'topic', matcher: compileTemplate(source) };
  return { kind: 'exact', source, type: 'topic' };
}

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

/**
 * Mercure's matching rule: `*`, then byte equality (draft-07 templates match their own text
 * too), then the template or URL pattern.
 */
export function selectorMatches(selector: Selector, topic: string): boolean {
  switch (selector.kind) {
    case 'all':
      return true;
    case 'exact':
      return exactMatches(selector.source, topic);
    case 'template':
      return selector.source === topic || selector.matcher.match(topic);
    case 'urlpattern':
      return selector.matcher.match(topic);
  }
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
