import type { PublishInput } from '../protocol/update.ts';
import type { Subscription } from './subscription.ts';

/** One active subscription as Mercure's subscriptions API and events describe it (JSON-LD). */
export interface SubscriptionDoc {
  id: string;
  type: 'Subscription';
  topic: string;
  subscriber: string;
  active: boolean;
  payload?: unknown;
}

/** `{hubPath}/subscriptions/{topic}/{subscriber}`, both parts percent-encoded (Mercure 07). */
export function subscriptionTopic(hubPath: string, selector: string, subscriber: string): string {
  return `${hubPath}/subscriptions/${encodeURIComponent(selector)}/${encodeURIComponent(subscriber)}`;
}

export function subscriptionDocs(hubPath: string, sub: Subscription, active: boolean): SubscriptionDoc[] {
  return sub.selectors.map((sel) => {
    const doc: SubscriptionDoc = {
      id: subscriptionTopic(hubPath, sel.source, sub.id),
      type: 'Subscription',
      topic: sel.source,
      subscriber: sub.id,
      active,
    };
    if (sub.principal.payload !== undefined) doc.payload = sub.principal.payload;
    return doc;
  });
}

/** The private updates announcing that a subscription started or ended. */
export function subscriptionEvents(hubPath: string, sub: Subscription, active: boolean): PublishInput[] {
  return subscriptionDocs(hubPath, sub, active).map((doc) => ({
    topics: [doc.id],
    data: JSON.stringify({ '@context': 'https://mercure.rocks/', ...doc }),
    private: true,
  }));
}
