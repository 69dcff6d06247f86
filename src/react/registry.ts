import type { BackoffOptions } from '../client/backoff.ts';
import { HeraldClientError } from '../client/errors.ts';
import {
  subscribe,
  type ConnectionStatus,
  type HeraldSubscription,
  type TransportChoice,
} from '../client/subscribe.ts';
import type { HeraldUpdate } from '../client/transport.ts';
import type { WebSocketCtor } from '../client/ws.ts';
import { StateCache } from '../client/state-cache.ts';
import { topicFilter, type TopicFilter } from '../client/topic-match.ts';
import type { JsonValue, SnapshotPayload, StatePayload } from '../protocol/state.ts';

/** How a registry reaches hubs; a provider's props, overridable per hook. */
export interface HubSettings {
  url: string;
  token?: string;
  getToken?: () => string | undefined | Promise<string | undefined>;
  /** `auto` (default) and `ws`: one WebSocket per hub URL; `sse`: one stream per topic set. */
  transport?: TransportChoice;
  WebSocket?: WebSocketCtor;
  backoff?: BackoffOptions;
  /**
   * Mercure revision (docs/dialects.md): `draft-08` subscribes with `match=` (exact topics,
   * `*`) and never puts the token in a URL. Default `draft-07`.
   */
  dialect?: 'draft-07' | 'draft-08';
}

export interface TopicListener {
  update(update: HeraldUpdate): void;
  status(status: ConnectionStatus, error: HeraldClientError | undefined): void;
  /**
   * State mode only: the current state of topics the listener's selectors match changed;
   * `undefined` means the topic has no state (any more). The first call, on `listen`, gives
   * what the shared connection already knows.
   */
  states?(changes: ReadonlyMap<string, JsonValue | undefined>): void;
}

/** State topics (docs/state.md): snapshot first, merged states after, optionally conflated. */
export interface StateMode {
  /** At most one state per topic per this many ms. */
  throttle?: number;
}

/** Summary of every connection of a registry, for a status indicator. */
export type OverallStatus = 'connected' | 'connecting' | 'reconnecting' | 'offline';

interface Entry {
  selectors: TopicFilter[];
  topics: string[];
  listener: TopicListener;
}

/** One hub connection shared by every component that listens through it. */
class SharedConnection {
  readonly entries = new Set<Entry>();
  readonly counts = new Map<string, number>();
  /** State mode: what the connection knows of every state topic it listens to. */
  readonly cache: StateCache | undefined;
  sub: HeraldSubscription | undefined;
  closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(state: boolean) {
    if (state) this.cache = new StateCache();
  }

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

  snapshot(snapshot: SnapshotPayload, selectors: readonly string[]): void {
    this.#tell(this.cache!.applySnapshot(snapshot, selectors));
  }

  state(state: StatePayload): void {
    if (this.cache!.applyState(state)) this.#tell([state.topic]);
  }

  /** The known states `entry` listens to, as a first `states` call. */
  seed(entry: Entry): void {
    const changes = new Map<string, JsonValue | undefined>();
    for (const [topic, s] of this.cache!.states)
      if (matches(entry.selectors, [topic])) changes.set(topic, s.state);
    if (changes.size > 0) entry.listener.states?.(changes);
  }

  /** Hands each listener the changed topics its selectors match. */
  #tell(topics: readonly string[]): void {
    if (topics.length === 0) return;
    for (const entry of this.entries) {
      let changes: Map<string, JsonValue | undefined> | undefined;
      for (const t of topics)
        if (matches(entry.selectors, [t])) (changes ??= new Map()).set(t, this.cache!.get(t));
      if (changes) entry.listener.states?.(changes);
    }
  }
}

function matches(selectors: readonly TopicFilter[], topics: readonly string[]): boolean {
  for (const s of selectors) for (const t of topics) if (s(t)) return true;
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

  /**
   * Starts listening to `topics`; returns the function that stops. With `state`, the listener
   * gets merged states (`listener.states`) from a connection shared only with listeners that
   * asked for state with the same throttle: a subscription's state mode and conflation apply
   * to all of its topics.
   */
  listen(
    settings: HubSettings,
    topics: readonly string[],
    listener: TopicListener,
    state?: StateMode,
  ): () => void {
    const WS = settings.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketCtor | undefined);
    const kind = settings.transport === 'sse' || !WS ? 'sse' : 'ws';
    const unique = [...new Set(topics)];
    // SSE updates do not carry their topics, so they cannot be routed: one stream per topic set.
    const key = JSON.stringify([
      kind,
      settings.url,
      settings.token ?? '',
      kind === 'sse' ? [...unique].sort() : [],
      state ? ['state', state.throttle ?? 0] : [],
      settings.dialect ?? 'draft-07',
    ]);
    const selectors = unique.map((t) => {
      const filter = topicFilter(t, settings.dialect);
      if (filter) return filter;
      throw new HeraldClientError(
        `invalid topic selector ${JSON.stringify(t)}`,
        400,
        'HERALD_ERR_BAD_SELECTOR',
      );
    });
    const entry: Entry = { selectors, topics: unique, listener };
    let conn = this.#conns.get(key);
    if (!conn) {
      conn = new SharedConnection(state !== undefined);
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
    if (!conn.sub) conn.sub = this.#open(settings, kind, conn, state);
    else if (added) conn.sub.setTopics(conn.topics());
    listener.status(conn.status, conn.sub.error);
    // Selectors already on the connection had their snapshot (or will): pass on what it gave.
    if (conn.cache) conn.seed(entry);
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
      } else if (removed) {
        c.sub?.setTopics(c.topics());
        c.cache?.retain(c.topics());
      }
    };
  }

  #open(
    settings: HubSettings,
    kind: 'sse' | 'ws',
    conn: SharedConnection,
    state: StateMode | undefined,
  ): HeraldSubscription {
    return subscribe({
      url: settings.url,
      topics: conn.topics(),
      transport: kind,
      ...(settings.dialect ? { dialect: settings.dialect } : {}),
      ...(state
        ? {
            snapshot: true,
            ...(state.throttle !== undefined ? { throttle: state.throttle } : {}),
            onSnapshot: (s: SnapshotPayload, selectors: readonly string[]) => conn.snapshot(s, selectors),
            onState: (s: StatePayload) => conn.state(s),
          }
        : {}),
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
