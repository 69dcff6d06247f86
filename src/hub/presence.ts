import { payloadOf } from '../auth/principal.ts';
import type { Selector } from '../protocol/selector.ts';
import type { Subscription } from './subscription.ts';

/** One active subscription as Mercure draft-07's subscriptions API and events describe it (JSON-LD). */
export interface SubscriptionDoc {
  id: string;
  type: 'Subscription';
  topic: string;
  subscriber: string;
  active: boolean;
  payload?: unknown;
}

/** The same in draft-08's shape (plain JSON, the matcher and its type). */
export interface SubscriptionDoc08 {
  id: string;
  type: 'subscription';
  match_type: 'exact' | 'urlpattern';
  match: string;
  subscriber: string;
  active: boolean;
  payload?: unknown;
}

/** `{hubPath}/subscriptions/{topic}/{subscriber}`, both parts percent-encoded (Mercure 07). */
export function subscriptionTopic(hubPath: string, selector: string, subscriber: string): string {
  return `${hubPath}/subscriptions/${encodeURIComponent(selector)}/${encodeURIComponent(subscriber)}`;
}

/** `{hubPath}/subscriptions/{match_type}/{match}/{subscriber}`, each encoded once (Mercure 08). */
export function subscriptionTopic08(
  hubPath: string,
  matchType: string,
  match: string,
  subscriber: string,
): string {
  return `${hubPath}/subscriptions/${matchType}/${encodeURIComponent(match)}/${encodeURIComponent(subscriber)}`;
}

/** Draft-08 matchers (`match*=`) are described in the draft-08 shape, `topic=` selectors in draft-07's. */
export function isDraft08Selector(sel: Selector): sel is Selector & { type: 'exact' | 'urlpattern' } {
  return sel.type !== 'topic';
}

export function subscriptionDocs(hubPath: string, sub: Subscription, active: boolean): SubscriptionDoc[] {
  return sub.selectors.filter((s) => !isDraft08Selector(s)).map((sel) => doc07(hubPath, sub, sel, active));
}

export function subscriptionDocs08(hubPath: string, sub: Subscription, active: boolean): SubscriptionDoc08[] {
  return sub.selectors.filter(isDraft08Selector).map((sel) => doc08(hubPath, sub, sel, active));
}

/**
 * A subscription document as a draft-07 client of the subscriptions API sees it: its own
 * `topic=` documents, and draft-08 `exact` matchers whose text draft-07 reads the same way
 * (`*`, or no `{`/`}`, which would make it a URI template). URL patterns have no draft-07
 * equivalent: undefined. Works on documents, so other nodes' (from the presence store) too.
 */
export function docAs07(
  hubPath: string,
  doc: SubscriptionDoc | SubscriptionDoc08,
): SubscriptionDoc | undefined {
  if (doc.type === 'Subscription') return doc;
  if (doc.match_type !== 'exact' || /[{}]/.test(doc.match)) return undefined;
  const out: SubscriptionDoc = {
    id: subscriptionTopic(hubPath, doc.match, doc.subscriber),
    type: 'Subscription',
    topic: doc.match,
    subscriber: doc.subscriber,
    active: doc.active,
  };
  if (doc.payload !== undefined) out.payload = doc.payload;
  return out;
}

/**
 * The same for a draft-08 client: its own matchers, and draft-07 selectors that are `*` or an
 * exact topic (an `exact` matcher of the same text). URI templates have no draft-08
 * equivalent (URL patterns match differently): undefined.
 */
export function docAs08(
  hubPath: string,
  doc: SubscriptionDoc | SubscriptionDoc08,
): SubscriptionDoc08 | undefined {
  if (doc.type === 'subscription') return doc;
  if (/[{}]/.test(doc.topic)) return undefined;
  const out: SubscriptionDoc08 = {
    id: subscriptionTopic08(hubPath, 'exact', doc.topic, doc.subscriber),
    type: 'subscription',
    match_type: 'exact',
    match: doc.topic,
    subscriber: doc.subscriber,
    active: doc.active,
  };
  if (doc.payload !== undefined) out.payload = doc.payload;
  return out;
}

function doc07(hubPath: string, sub: Subscription, sel: Selector, active: boolean): SubscriptionDoc {
  const doc: SubscriptionDoc = {
    id: subscriptionTopic(hubPath, sel.source, sub.id),
    type: 'Subscription',
    topic: sel.source,
    subscriber: sub.id,
    active,
  };
  const payload = payloadOf(sub.principal, sel);
  if (payload !== undefined) doc.payload = payload;
  return doc;
}

function doc08(
  hubPath: string,
  sub: Subscription,
  sel: Selector & { type: 'exact' | 'urlpattern' },
  active: boolean,
): SubscriptionDoc08 {
  const doc: SubscriptionDoc08 = {
    id: subscriptionTopic08(hubPath, sel.type, sel.source, sub.id),
    type: 'subscription',
    match_type: sel.type,
    match: sel.source,
    subscriber: sub.id,
    active,
  };
  const payload = payloadOf(sub.principal, sel);
  if (payload !== undefined) doc.payload = payload;
  return doc;
}
