import { URLPattern } from 'urlpattern-polyfill/urlpattern';
import { ErrorCode, HeraldError } from './errors.ts';
import type { MatchMeter, TopicMatcher } from './matcher.ts';

/**
 * Mercure draft-08 `urlpattern` matchers: the WHATWG URL Pattern standard (through
 * urlpattern-polyfill), relative patterns and relative topics resolved against the hub URL.
 *
 * The standard compiles a pattern to a backtracking regular expression, so a subscriber's
 * pattern could cost the hub seconds per update (`/:a-:b-:c-:d` against a long segment is
 * polynomial of high degree). Patterns are therefore admitted only when their regular
 * expression cannot backtrack badly: no custom regexp groups, at most one group per path
 * segment or host label, at most two repeating parts (`*`, `+`) per component. Matching such
 * a pattern is at worst quadratic in the topic length, which the topic length cap bounds.
 * Compiled patterns are cached per (base, source), so many subscribers sharing a pattern
 * compile it once.
 *
 * For the hub's index (hub/topic-index.ts) a compiled pattern is a TopicMatcher like a URI
 * template, with two differences: its `prefix` is a prefix of the topic's URL key (see
 * urlKey), not of its text, since relative topics resolve against the hub URL first; and the
 * steps it counts are the bound its admitted shape gives (`weight` per topic character), not a
 * count taken inside the polyfill's regular expressions.
 */
export interface UrlPatternMatcher extends TopicMatcher {
  /** The base relative patterns and topics resolve against (the hub URL). */
  readonly urlBase: string;
}

export const MAX_PATTERN_LENGTH = 2048;
const MAX_GROUPS = 16;
const MAX_REPEATS = 2;
const CACHE_SIZE = 4096;

const cache = new Map<string, UrlPatternMatcher>();

/**
 * The text URL patterns are indexed by: `protocol//hostname pathname` of the topic resolved
 * against `base` (user, password, port, query and fragment left out), or undefined when the
 * topic is not a URL reference, which no URL pattern matches.
 */
export function urlKey(topic: string, base: string): string | undefined {
  const url = URL.parse(topic, base);
  return url ? `${url.protocol}//${url.hostname}${url.pathname}` : undefined;
}

/** Characters that start something other than fixed text in a pattern component. */
const SPECIAL = /[:*(){}\\+?]/;

function fixedText(component: string): string | undefined {
  return SPECIAL.test(component) ? undefined : component;
}

/**
 * A prefix of urlKey(topic) for every topic the pattern matches: the fixed protocol, then the
 * fixed hostname, then the pathname's fixed text before its first group, less one character
 * (an optional group takes the `/` before it along: `/books/:id?` matches `/books`).
 */
function keyPrefix(pattern: URLPattern): string {
  const protocol = fixedText(pattern.protocol);
  if (protocol === undefined) return '';
  const hostname = fixedText(pattern.hostname);
  if (hostname === undefined) return `${protocol}://`;
  const cut = pattern.pathname.search(SPECIAL);
  const path = cut === -1 ? pattern.pathname : pattern.pathname.slice(0, Math.max(0, cut - 1));
  return `${protocol}://${hostname}${path}`;
}

function bad(message: string): HeraldError {
  return new HeraldError(ErrorCode.badSelector, message);
}

/**
 * Checks one component of a compiled pattern (each component is its own regular expression):
 * at most one group per piece (`separator`-delimited: path segment, host label), where
 * backtracking between two groups grows with the piece's length, and at most
 * MAX_REPEATS repeating parts. Returns its groups and repeating parts.
 */
function checkComponent(
  component: string,
  separator: string | undefined,
): { groups: number; repeats: number } {
  // An omitted component is `*`: one wildcard, trivially linear.
  if (component === '*') return { groups: 0, repeats: 0 };
  let groups = 0;
  let repeats = 0;
  let inPiece = 0;
  for (let i = 0; i < component.length; i++) {
    const c = component[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (separator !== undefined && c === separator) {
      inPiece = 0;
      continue;
    }
    let group = false;
    if (c === ':' && /[\p{ID_Start}$_]/u.test(component[i + 1] ?? '')) {
      group = true;
      while (i + 1 < component.length && /[\p{ID_Continue}$\u200c\u200d]/u.test(component[i + 1]!)) i++;
    } else if (c === '*') {
      // A wildcard, or the zero-or-more modifier of the group before it.
      group = component[i - 1] !== '}' && !/[\p{ID_Continue}]/u.test(component[i - 1] ?? '');
      repeats++;
    } else if (c === '+') {
      repeats++;
    }
    if (group) {
      groups++;
      if (++inPiece > 1)
        throw bad('URL pattern has two groups in one path segment or host label (backtracking risk)');
    }
  }
  if (repeats > MAX_REPEATS)
    throw bad(`URL pattern has more than ${MAX_REPEATS} wildcards or repeated groups in one component`);
  return { groups, repeats };
}

/**
 * The pattern's components, each checked; throws a 400 naming what is refused. Returns its
 * weight for the index's budget: its groups and repeating parts (an omitted component, `*`,
 * costs nothing), at least 1.
 */
function assertBoundedCost(pattern: URLPattern): number {
  if ((pattern as unknown as { hasRegExpGroups: boolean }).hasRegExpGroups)
    throw bad('URL pattern regexp groups "(...)" are not supported (backtracking risk)');
  let groups = 0;
  let weight = 0;
  const components: [string, string | undefined][] = [
    [pattern.protocol, undefined],
    [pattern.username, undefined],
    [pattern.password, undefined],
    [pattern.hostname, '.'],
    [pattern.port, undefined],
    [pattern.pathname, '/'],
    [pattern.search, undefined],
    [pattern.hash, undefined],
  ];
  for (const [component, separator] of components) {
    const c = checkComponent(component, separator);
    groups += c.groups;
    weight += c.groups + c.repeats;
  }
  if (groups > MAX_GROUPS) throw bad(`URL pattern has more than ${MAX_GROUPS} groups`);
  return Math.max(1, weight);
}

/**
 * Compiles (or takes from the cache) a URL pattern; relative patterns resolve against
 * `baseUrl` (the hub URL). Throws a 400 HeraldError for a malformed or too costly pattern.
 */
export function compileUrlPattern(source: string, baseUrl: string): UrlPatternMatcher {
  const key = `${baseUrl} ${source}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  if (source.length > MAX_PATTERN_LENGTH)
    throw bad(`URL pattern longer than ${MAX_PATTERN_LENGTH} characters`);
  let pattern: URLPattern;
  try {
    pattern = new URLPattern(source, baseUrl);
  } catch (e) {
    throw bad(`not a valid URL pattern: ${(e as Error).message.slice(0, 120)}`);
  }
  const weight = assertBoundedCost(pattern);
  const matcher: UrlPatternMatcher = {
    urlBase: baseUrl,
    prefix: keyPrefix(pattern),
    key: `urlpattern ${key}`,
    weight,
    // Measured: about 5 KB of heap per compiled pattern (eight component regular expressions
    // and their parts) plus 3 bytes per character of its text.
    size: 5120 + 4 * source.length,
    match(topic: string, meter?: MatchMeter): boolean {
      if (meter) meter.steps += weight * (topic.length + 1);
      // A topic that is not a URL reference against the hub URL never matches.
      try {
        return pattern.test(topic, baseUrl);
      } catch {
        return false;
      }
    },
  };
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, matcher);
  return matcher;
}
