import { URLPattern } from 'urlpattern-polyfill/urlpattern';
import { ErrorCode, HeraldError } from './errors.ts';

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
 */
export interface TopicMatcher {
  match(topic: string): boolean;
}

export const MAX_PATTERN_LENGTH = 2048;
const MAX_GROUPS = 16;
const MAX_REPEATS = 2;
const CACHE_SIZE = 4096;

const cache = new Map<string, TopicMatcher>();

function bad(message: string): HeraldError {
  return new HeraldError(ErrorCode.badSelector, message);
}

/**
 * Checks one component of a compiled pattern (each component is its own regular expression):
 * at most one group per piece (`separator`-delimited: path segment, host label), where
 * backtracking between two groups grows with the piece's length, and at most
 * MAX_REPEATS repeating parts. Returns the number of groups.
 */
function checkComponent(component: string, separator: string | undefined): number {
  // An omitted component is `*`: one wildcard, trivially linear.
  if (component === '*') return 0;
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
  return groups;
}

/** The pattern's components, each checked; throws a 400 naming what is refused. */
function assertBoundedCost(pattern: URLPattern): void {
  if ((pattern as unknown as { hasRegExpGroups: boolean }).hasRegExpGroups)
    throw bad('URL pattern regexp groups "(...)" are not supported (backtracking risk)');
  const groups =
    checkComponent(pattern.protocol, undefined) +
    checkComponent(pattern.username, undefined) +
    checkComponent(pattern.password, undefined) +
    checkComponent(pattern.hostname, '.') +
    checkComponent(pattern.port, undefined) +
    checkComponent(pattern.pathname, '/') +
    checkComponent(pattern.search, undefined) +
    checkComponent(pattern.hash, undefined);
  if (groups > MAX_GROUPS) throw bad(`URL pattern has more than ${MAX_GROUPS} groups`);
}

/**
 * Compiles (or takes from the cache) a URL pattern; relative patterns resolve against
 * `baseUrl` (the hub URL). Throws a 400 HeraldError for a malformed or too costly pattern.
 */
export function compileUrlPattern(source: string, baseUrl: string): TopicMatcher {
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
  assertBoundedCost(pattern);
  const matcher: TopicMatcher = {
    match(topic: string): boolean {
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
