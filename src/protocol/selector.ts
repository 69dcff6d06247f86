import { ErrorCode, HeraldError } from './errors.ts';
import type { TopicMatcher } from './matcher.ts';
import { compileTemplate, looksLikeTemplate } from './uri-template.ts';

/** A compiled topic selector: `*`, an exact topic, or a URI template. */
export type Selector =
  | { readonly kind: 'all'; readonly source: '*' }
  | { readonly kind: 'exact'; readonly source: string }
  | { readonly kind: 'template'; readonly source: string; readonly matcher: TopicMatcher };

export const MAX_SELECTOR_LENGTH = 2048;

export function compileSelector(source: string): Selector {
  if (source === '') throw new HeraldError(ErrorCode.badSelector, 'topic selector must not be empty');
  if (source.length > MAX_SELECTOR_LENGTH)
    throw new HeraldError(
      ErrorCode.badSelector,
      `topic selector longer than ${MAX_SELECTOR_LENGTH} characters`,
    );
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(source))
    throw new HeraldError(ErrorCode.badSelector, 'topic selector contains a control character');
  if (source === '*') return { kind: 'all', source };
  if (looksLikeTemplate(source)) return { kind: 'template', source, matcher: compileTemplate(source) };
  return { kind: 'exact', source };
}

/** Mercure's matching rule: `*`, then byte equality, then the URI template. */
export function selectorMatches(selector: Selector, topic: string): boolean {
  if (selector.kind === 'all' || selector.source === topic) return true;
  return selector.kind === 'template' && selector.matcher.match(topic);
}

/** A set of selectors as granted by a token claim (publish or subscribe). */
export class SelectorSet {
  readonly selectors: readonly Selector[];
  /** Stable key for caching decisions per distinct claim set. */
  readonly key: string;

  constructor(sources: readonly string[]) {
    this.selectors = sources.map(compileSelector);
    this.key = JSON.stringify(sources);
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
