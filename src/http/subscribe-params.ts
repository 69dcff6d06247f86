import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { MatcherSpec } from '../protocol/selector.ts';

/**
 * What a subscribe request asks for, in either dialect. The rule (docs/dialects.md): a request
 * is draft-08 when it carries a `match`-namespace parameter or `last_event_id`; `topic`
 * selectors keep draft-07 semantics (URI templates) whatever else the request carries.
 */
export interface SubscribeParams {
  /** Draft-07 selectors (`topic=`). */
  topics: string[];
  /** Draft-08 matchers (`match=`, `match_exact=`, `match_urlpattern=`). */
  matchers: MatcherSpec[];
  /** `last_event_id` (query wins over body), else draft-07's `lastEventID`. */
  lastEventId: string | undefined;
  draft08: boolean;
}

const MATCHER_PARAMS: Record<string, MatcherSpec['type']> = {
  match: 'exact',
  match_exact: 'exact',
  match_urlpattern: 'urlpattern',
};

/**
 * Reads the parameters of the query string and, for `QUERY` requests, of the form body: their
 * union, as draft-08 says. Any other name in the reserved `match` namespace (ASCII
 * case-insensitive prefix) is a 400, so a misspelled matcher type fails loudly.
 */
export function subscribeParams(query: URLSearchParams, body?: URLSearchParams): SubscribeParams {
  const out: SubscribeParams = { topics: [], matchers: [], lastEventId: undefined, draft08: false };
  for (const params of body === undefined ? [query] : [query, body]) {
    for (const [name, value] of params) {
      if (name === 'topic') {
        out.topics.push(value);
        continue;
      }
      if (!name.toLowerCase().startsWith('match')) continue;
      const type = MATCHER_PARAMS[name];
      if (type === undefined)
        throw new HeraldError(
          ErrorCode.badSelector,
          `unknown matcher parameter ${JSON.stringify(name.slice(0, 40))}; use match, match_exact or match_urlpattern`,
        );
      out.matchers.push({ match: value, type });
      out.draft08 = true;
    }
  }
  const cursor = query.get('last_event_id') ?? body?.get('last_event_id') ?? null;
  if (cursor !== null) {
    out.draft08 = true;
    out.lastEventId = cursor;
  } else {
    out.lastEventId = query.get('lastEventID') ?? query.get('Last-Event-ID') ?? undefined;
  }
  return out;
}
