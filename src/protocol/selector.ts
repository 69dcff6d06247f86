import { ErrorCode, HeraldError } from './errors.ts';
import { exactMatches } from './match-exact.ts';
import type { UrlPatternMatcher } from './url-pattern.ts';
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

/** Refuses an empty, over-long or control-character selector with a 400. */
export function checkSource(source: string): void {
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
 * A draft-08 `exact` matcher: `*` is the wildcard, anything else compares bytes. Kept apart
 * from URL patterns (matchers.ts) so browser bundles never carry the URL Pattern polyfill.
 */
export function compileExactMatcher(match: string): Selector {
  checkSource(match);
  if (match === '*') return { kind: 'all', source: '*', type: 'exact' };
  return { kind: 'exact', source: match, type: 'exact' };
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
