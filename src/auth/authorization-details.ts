import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { SelectorSet, selectorMatches, type MatcherSpec, type Selector } from '../protocol/selector.ts';

/** The RFC 9396 `type` of a Mercure authorization detail (draft-08). */
export const MERCURE_DETAIL_TYPE = 'https://mercure.rocks/authorization-detail';

/** Bounds on what one token may make the hub compile (each over: the token is refused). */
export const MAX_DETAILS = 64;
export const MAX_TOPICS_PER_DETAIL = 256;

/** What the Mercure details of a draft-08 access token grant. */
export interface DetailGrants {
  publish: SelectorSet | undefined;
  subscribe: SelectorSet | undefined;
  /** The payload of the first `subscribe` detail whose topics match the subscription's own matcher. */
  payloadFor(selector: Selector): unknown;
}

function invalid(message: string): HeraldError {
  return new HeraldError(ErrorCode.unauthorized, `token authorization_details ${message}`, {
    bearer: 'invalid_token',
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function matcherOf(entry: unknown, where: string): MatcherSpec {
  if (!isObject(entry)) throw invalid(`${where} is not an object`);
  const match = entry['match'];
  if (typeof match !== 'string') throw invalid(`${where}.match must be a string`);
  const type = entry['match_type'] ?? 'exact';
  if (type !== 'exact' && type !== 'urlpattern')
    throw invalid(`${where}.match_type ${JSON.stringify(type)} is not supported (exact, urlpattern)`);
  return { match, type };
}

interface SubscribeDetail {
  topics: SelectorSet;
  payload: unknown;
}

/**
 * Reads the `authorization_details` claim. Details of other types are left alone; a Mercure
 * detail that does not parse refuses the whole token (401 `invalid_token`), never part of it.
 * Unknown actions grant nothing.
 */
export function parseAuthorizationDetails(claim: unknown, hubUrl: string): DetailGrants {
  const publish: MatcherSpec[] = [];
  const subscribe: MatcherSpec[] = [];
  const subscribeDetails: SubscribeDetail[] = [];
  if (claim !== undefined) {
    if (!Array.isArray(claim)) throw invalid('must be an array');
    if (claim.length > MAX_DETAILS) throw invalid(`has more than ${MAX_DETAILS} entries`);
    claim.forEach((detail: unknown, i) => {
      const where = `[${i}]`;
      if (!isObject(detail)) throw invalid(`${where} is not an object`);
      if (detail['type'] !== MERCURE_DETAIL_TYPE) return;
      const actions = detail['actions'];
      if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === 'string'))
        throw invalid(`${where}.actions must be a non-empty array of strings`);
      const topics = detail['topics'];
      if (!Array.isArray(topics) || topics.length === 0)
        throw invalid(`${where}.topics must be a non-empty array`);
      if (topics.length > MAX_TOPICS_PER_DETAIL)
        throw invalid(`${where}.topics has more than ${MAX_TOPICS_PER_DETAIL} entries`);
      const specs = topics.map((t: unknown, j) => matcherOf(t, `${where}.topics[${j}]`));
      const payload = detail['payload'];
      if (payload !== undefined && !isObject(payload)) throw invalid(`${where}.payload must be an object`);
      let compiled: SelectorSet;
      try {
        compiled = new SelectorSet(specs, hubUrl);
      } catch (e) {
        throw invalid(`${where}.topics: ${(e as Error).message}`);
      }
      if (actions.includes('publish')) publish.push(...specs);
      if (actions.includes('subscribe')) {
        subscribe.push(...specs);
        subscribeDetails.push({ topics: compiled, payload });
      }
    });
  }
  return {
    publish: publish.length > 0 ? new SelectorSet(publish, hubUrl) : undefined,
    subscribe: subscribe.length > 0 ? new SelectorSet(subscribe, hubUrl) : undefined,
    payloadFor(selector: Selector): unknown {
      // The subscription's own matcher string is matched as if it were a topic.
      for (const d of subscribeDetails)
        if (
          d.topics.selectors.some((s) => s.source === selector.source || selectorMatches(s, selector.source))
        )
          return d.payload;
      return undefined;
    },
  };
}
