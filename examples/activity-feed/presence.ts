// Who is online, from Herald itself: the hub announces every subscription that starts or ends
// (a private update on `{hub}/subscriptions/{topic}/{subscriber}`), and its subscriptions API
// lists the live ones with each subscriber's token payload. No heartbeats, no connection map.
import { subscribe } from 'herald/client';
import type { ExampleHub } from '../shared/herald.ts';

export interface Online {
  user: string;
  name: string;
  /** Open tabs (subscriptions to the feed). */
  tabs: number;
}

interface SubscriptionsDoc {
  subscriptions: { payload?: { user?: string; name?: string } }[];
}

/** Calls `publish` with the online list whenever it changes; returns a stop function. */
export function trackPresence(
  hub: ExampleHub,
  feedTopic: string,
  token: string,
  publish: (online: Online[]) => Promise<void>,
): () => Promise<void> {
  const hubUrl = `${hub.herald.url}${hub.herald.config.path}`;
  const feedSubscriptions = `${hubUrl}/subscriptions/${encodeURIComponent(feedTopic)}`;
  let last = '';
  let queue = Promise.resolve();
  // Each event only says "something changed": re-reading the list, one read at a time, means
  // the last read always reflects the last change, whatever the order events arrive in.
  const refresh = (): void => {
    queue = queue
      .then(async () => {
        const res = await fetch(feedSubscriptions, { headers: { Authorization: `Bearer ${token}` } });
        if (!res.ok) throw new Error(`subscriptions API answered ${res.status}: ${await res.text()}`);
        const tabs = new Map<string, { name: string; tabs: number }>();
        for (const { payload } of ((await res.json()) as SubscriptionsDoc).subscriptions) {
          if (!payload?.user) continue;
          const seen = tabs.get(payload.user) ?? { name: payload.name ?? payload.user, tabs: 0 };
          tabs.set(payload.user, { ...seen, tabs: seen.tabs + 1 });
        }
        const online = [...tabs]
          .map(([user, t]) => ({ user, ...t }))
          .sort((a, b) => a.user.localeCompare(b.user));
        if (JSON.stringify(online) === last) return;
        last = JSON.stringify(online);
        await publish(online);
      })
      .catch((e: unknown) => console.error('presence:', e));
  };
  const events = subscribe({
    url: hubUrl,
    topics: [`${feedSubscriptions.slice(hub.herald.url.length)}/{subscriber}`],
    token,
    transport: 'sse',
    onUpdate: refresh,
    // Also on every (re)connect: changes made while this stream was down were not announced to it.
    onStatus: (status) => status === 'open' && refresh(),
  });
  return () => {
    events.close();
    return queue;
  };
}
