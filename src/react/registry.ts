import type { BackoffOptions } from '../client/backoff.ts';
import type { HeraldClientError } from '../client/errors.ts';
import {
  subscribe,
  type ConnectionStatus,
  type HeraldSubscription,
  type TransportChoice,
} from '../client/subscribe.ts';
import type { HeraldUpdate } from '../client/transport.ts';
import type { WebSocketCtor } from '../client/ws.ts';
import { compileSelector, selectorMatches, type Selector } from '../protocol/selector.ts';

/** How a registry reaches hubs; a provider's props, overridable per hook. */
export interface HubSettings {
  url: string;
  token?: string;
  getToken?: () => string | undefined | Promise<string | undefined>;
  /** `auto` (default) and `ws`: one WebSocket per hub URL; `sse`: one stream per topic set. */
  transport?: TransportChoice;
  WebSocket?: WebSocketCtor;
  backoff?: BackoffOptions;
}

export interface TopicListener {
  update(update: HeraldUpdate): void;
  status(status: ConnectionStatus, error: HeraldClientError | undefined): void;
}

/** Summary of every connection of a registry, for a status indicator. */
export type OverallStatus = 'connected' | 'connecting' | 'reconnecting' | 'offline';

interface Entry {
  selectors: Selector[];
  topics: string[];
  listener: TopicListener;
}

/** One hub connection shared by every component that listens through it. */
class SharedConnection {
  readonly entries = new Set<Entry>();
  readonly counts = new Map<string, number>();
  sub: HeraldSubscription | undefined;
  closeTimer: ReturnType<typeof setTimeout> | undefined;

  get status(): ConnectionStatus {
    return this.sub?.status ?? 'connecting';
  }

  topics(): string[] {
    return [...this.counts.keys()];
  }

  /** Over WebSocket each update names its topics: hand it only to listeners that match. */
  route(update: HeraldUpdate): void {
    for (const entry of this.entries) {
      if (update.topics && !matches(entry.selectors, update.topics)) continue;
      entry.listener.update(update);
    }
  }
}

function matches(selectors: readonly Selector[], topics: readonly string[]): boolean {
  for (const s of selectors) for (const t of topics) if (selectorMatches(s, t)) return true;
  return false;
}

/**
 * Ref-counted hub connections, owned by one `<HeraldProvider>` (never module-level): however
 * many components listen, there is one WebSocket per hub URL and token. A connection nobody
 * listens to any more is closed after the current tick, so a remount reuses it.
 */
export class ConnectionRegistry {
  readonly #conns = new Map<string, SharedConnection>();
  readonly #watchers = new Set<() => void>();
  #summary: OverallStatus = 'offline';

  /** Starts listening to `topics`; returns the function that stops. */
  listen(settings: HubSettings, topics: readonly string[], listener: TopicListener): () => void {
    const WS = settings.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketCtor | undefined);
    const kind = settings.transport === 'sse' || !WS ? 'sse' : 'ws';
    const unique = [...new Set(topics)];
    // SSE updates do not carry their topics, so they cannot be routed: one stream per topic set.
    const key = JSON.stringify([
      kind,
      settings.url,
      settings.token ?? '',
      kind === 'sse' ? [...unique].sort() : [],
    ]);
    const entry: Entry = { selectors: unique.map(compileSelector), topics: unique, listener };
    let conn = this.#conns.get(key);
    if (!conn) {
      conn = new SharedConnection();
      this.#conns.set(key, conn);
    }
    if (conn.closeTimer) {
      clearTimeout(conn.closeTimer);
      conn.closeTimer = undefined;
    }
    conn.entries.add(entry);
    let added = false;
    for (const t of unique) {
      const n = conn.counts.get(t) ?? 0;
      conn.counts.set(t, n + 1);
      if (n === 0) added = true;
    }
    if (!conn.sub) conn.sub = this.#open(settings, kind, conn);
    else if (added) conn.sub.setTopics(conn.topics());
    listener.status(conn.status, conn.sub.error);
    this.#changed();

    const c = conn;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      c.entries.delete(entry);
      let removed = false;
      for (const t of unique) {
        const n = c.counts.get(t)! - 1;
        if (n === 0) {
          c.counts.delete(t);
          removed = true;
        } else c.counts.set(t, n);
      }
      if (c.entries.size === 0) {
        c.closeTimer = setTimeout(() => {
          c.sub?.close();
          if (this.#conns.get(key) === c) this.#conns.delete(key);
          this.#changed();
        }, 0);
      } else if (removed) c.sub?.setTopics(c.topics());
    };
  }

  #open(settings: HubSettings, kind: 'sse' | 'ws', conn: SharedConnection): HeraldSubscription {
    return subscribe({
      url: settings.url,
      topics: conn.topics(),
      transport: kind,
      ...(settings.token !== undefined ? { token: settings.token } : {}),
      ...(settings.getToken ? { getToken: settings.getToken } : {}),
      ...(settings.WebSocket ? { WebSocket: settings.WebSocket } : {}),
      ...(settings.backoff ? { backoff: settings.backoff } : {}),
      onUpdate: (u) => conn.route(u),
      onStatus: (status, error) => {
        for (const e of conn.entries) e.listener.status(status, error);
        this.#changed();
      },
    });
  }

  /** Open connections (for tests and debugging). */
  get size(): number {
    return this.#conns.size;
  }

  /** connected: all open; connecting/reconnecting: some are on their way; offline: none, or one gave up. */
  get summary(): OverallStatus {
    return this.#summary;
  }

  /** Calls `fn` whenever `summary` may have changed; returns the unsubscribe function. */
  watch = (fn: () => void): (() => void) => {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  };

  close(): void {
    for (const c of this.#conns.values()) {
      if (c.closeTimer) clearTimeout(c.closeTimer);
      c.sub?.close();
    }
    this.#conns.clear();
    this.#changed();
  }

  #changed(): void {
    let next: OverallStatus;
    const statuses = [...this.#conns.values()].map((c) => c.status);
    if (statuses.length === 0 || statuses.includes('closed')) next = 'offline';
    else if (statuses.includes('reconnecting')) next = 'reconnecting';
    else if (statuses.includes('connecting')) next = 'connecting';
    else next = 'connected';
    if (next === this.#summary) return;
    this.#summary = next;
    for (const fn of this.#watchers) fn();
  }
}
