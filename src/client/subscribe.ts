import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { HeraldClientError } from './errors.ts';
import { canShareConnection, SharedSubscription } from './shared.ts';
import { connectSse } from './sse.ts';
import type { SnapshotPayload, StatePayload } from '../protocol/state.ts';
import {
  parseJson,
  type ConnectParams,
  type HeraldUpdate,
  type TransportConnection,
  type TransportEvents,
} from './transport.ts';
import { SubscriptionState } from './subscription-state.ts';
import { connectWs, type WebSocketCtor } from './ws.ts';

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';
export type TransportChoice = 'sse' | 'ws' | 'auto';

export interface SubscribeOptions {
  /** Hub URL, e.g. `https://example.com/.well-known/mercure`. */
  url: string;
  /**
   * Topic selectors: exact topics, URI templates or `*` (draft-07); with `dialect: 'draft-08'`,
   * exact matchers (a `{` is then just a character) or `*`.
   */
  topics: readonly string[];
  /**
   * Which Mercure revision to speak (docs/dialects.md). `draft-08` sends `match=` and
   * `last_event_id`, never a token in a URL. Default `draft-07`.
   */
  dialect?: 'draft-07' | 'draft-08';
  /** Draft-08 URL patterns (`match_urlpattern`), fixed for the subscription's life. */
  patterns?: readonly string[];
  /** Subscriber JWT. */
  token?: string;
  /** Called before every (re)connect; wins over `token`. Use it to refresh short-lived tokens. */
  getToken?: () => string | undefined | Promise<string | undefined>;
  /** Resume after this id (`earliest` = all retained history). */
  lastEventId?: string;
  /** `auto` (default): WebSocket when available, SSE when not or when WebSockets are blocked. */
  transport?: TransportChoice;
  onUpdate: (update: HeraldUpdate) => void;
  onStatus?: (status: ConnectionStatus, error: HeraldClientError | undefined) => void;
  /** The hub could not resume from our last id: updates may have been missed; refetch state. */
  onGap?: (info: { lastEventId?: string }) => void;
  /** Every hub event (`herald.*`), including those handled here. */
  onEvent?: (type: string, data: unknown) => void;
  backoff?: BackoffOptions;
  /** WebSocket implementation (Node 20: pass `WebSocket` from the `ws` package). */
  WebSocket?: WebSocketCtor;
  /** fetch implementation; `false` forces the EventSource fallback for SSE. */
  fetch?: typeof fetch | false;
  EventSource?: typeof EventSource;
  /**
   * State topics (docs/state.md): receive the retained state of every matching topic first,
   * on every (re)connect and, over WebSocket, for every topic `setTopics` adds.
   */
  snapshot?: boolean;
  /** State topics: at most one update per topic per this many ms (conflation), 1-60000. */
  throttle?: number;
  /**
   * `herald.snapshot`: the current state of every topic that `selectors` match (those the
   * snapshot covers: all the subscription's topics after a (re)connect, only the added ones
   * after `setTopics` over WebSocket). A known topic they match that is missing has no state.
   */
  onSnapshot?: (snapshot: SnapshotPayload, selectors: readonly string[]) => void;
  /** `herald.state`: this topic's whole state changed (`state: null` = removed). Also passed to `onUpdate`. */
  onState?: (state: StatePayload) => void;
  /** EventSource fallback only: typed updates to listen for. */
  types?: readonly string[];
  /**
   * SSE over fetch only: reconnect after this many ms without a byte from the hub (heartbeats
   * count). Set it above the hub's heartbeat interval (15 s by default). Off by default.
   */
  idleTimeoutMs?: number;
  /**
   * Browsers: share one upstream connection between every tab (and every call) of this origin
   * subscribing to the same hub, topics and token; one tab leads and relays, another takes over
   * when it closes. Default `true` where Web Locks and BroadcastChannel exist (not in Node).
   * Ignored with `lastEventId`, `snapshot` or `throttle`: what those send at the start of a
   * connection needs a connection of its own.
   * See docs/many-tabs.md.
   */
  shared?: boolean;
}

/** A live subscription: it reconnects by itself until `close()` or a refusal that retrying cannot fix. */
export interface HeraldSubscription {
  readonly status: ConnectionStatus;
  /** Id of the last update received: where a reconnect resumes. */
  readonly lastEventId: string | undefined;
  /** Why the subscription is closed or reconnecting, when it is. */
  readonly error: HeraldClientError | undefined;
  /** The transport in use (or about to be). */
  readonly transport: 'sse' | 'ws';
  readonly topics: readonly string[];
  /** This handle holds the upstream connection (always, unless it shares one led by another tab). */
  readonly leader: boolean;
  /**
   * Changes the topics. Over WebSocket this happens on the live connection; over SSE the
   * stream is reopened from the last id (so a newly added topic starts from that cursor).
   */
  setTopics(topics: readonly string[]): void;
  close(): void;
}

/** Gives up on WebSocket in `auto` mode after this many failures before it ever opened. */
const WS_FAILURES_BEFORE_SSE = 2;

class Subscriber extends SubscriptionState implements HeraldSubscription {
  readonly #o: SubscribeOptions;
  #kind: 'sse' | 'ws';
  #conn: TransportConnection | undefined;
  #params: ConnectParams | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #retryMs: number | undefined;
  #generation = 0;
  #everOpened = false;
  #wsFailures = 0;
  #reopenQueued = false;

  constructor(options: SubscribeOptions) {
    super([...options.topics], options.lastEventId);
    this.#o = options;
    const WS = options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketCtor | undefined);
    const choice = options.transport ?? 'auto';
    if (choice === 'ws' && !WS)
      throw new Error('herald: no WebSocket implementation; pass options.WebSocket');
    this.#kind = choice === 'sse' || !WS ? 'sse' : 'ws';
    if (this.current.topics.length === 0 && !options.patterns?.length)
      throw new Error('herald: subscribe needs at least one topic');
    void this.#connect();
  }

  get transport(): 'sse' | 'ws' {
    return this.#kind;
  }
  get leader(): boolean {
    return true;
  }

  setTopics(topics: readonly string[]): void {
    if (this.current.status === 'closed') return;
    if (topics.length === 0) throw new Error('herald: setTopics needs at least one topic');
    const before = new Set(this.current.topics);
    const after = new Set(topics);
    const added = [...after].filter((t) => !before.has(t));
    const removed = [...before].filter((t) => !after.has(t));
    this.current.topics = [...after];
    if (added.length === 0 && removed.length === 0) return;
    if (this.#params) this.#params.topics = this.current.topics;
    const conn = this.#conn;
    if (!conn) return; // the next connect uses the new topics
    if (conn.kind === 'ws') {
      conn.removeTopics?.(removed);
      conn.addTopics?.(added);
      return;
    }
    // SSE: one reopen for any number of changes made in the same tick.
    if (this.#reopenQueued) return;
    this.#reopenQueued = true;
    queueMicrotask(() => {
      this.#reopenQueued = false;
      if (this.current.status === 'closed' || !this.#conn) return;
      this.#generation++;
      this.#conn.close();
      this.#conn = undefined;
      void this.#connect();
    });
  }

  close(): void {
    if (this.current.status === 'closed') return;
    this.#generation++;
    if (this.#timer) clearTimeout(this.#timer);
    this.#conn?.close();
    this.#conn = undefined;
    this.#setStatus('closed', undefined);
  }

  #setStatus(status: ConnectionStatus, error: HeraldClientError | undefined): void {
    if (status === this.current.status && error === this.current.error) return;
    this.current.status = status;
    this.current.error = error;
    if (this.#o.onStatus) guard(this.#o.onStatus, status, error);
  }

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    this.#setStatus(
      this.#everOpened || this.#attempt > 0 ? 'reconnecting' : 'connecting',
      this.current.error,
    );
    let token = this.#o.token;
    if (this.#o.getToken) {
      try {
        token = (await this.#o.getToken()) ?? undefined;
      } catch (e) {
        if (generation !== this.#generation) return;
        this.#retryLater(new HeraldClientError(`getToken failed: ${(e as Error).message}`, 0));
        return;
      }
      if (generation !== this.#generation) return;
    }
    const params: ConnectParams = {
      hubUrl: this.#o.url,
      topics: this.current.topics,
      token,
      lastEventId: this.current.lastEventId,
      ...(this.#o.dialect === 'draft-08' || this.#o.patterns?.length ? { dialect: 'draft-08' as const } : {}),
      ...(this.#o.patterns?.length ? { patterns: this.#o.patterns } : {}),
      ...(this.#o.snapshot ? { snapshot: true } : {}),
      ...(this.#o.throttle !== undefined ? { throttleMs: this.#o.throttle } : {}),
    };
    this.#params = params;
    const events = this.#events(generation);
    try {
      this.#conn =
        this.#kind === 'ws'
          ? connectWs(params, events, (this.#o.WebSocket ?? globalThis.WebSocket) as WebSocketCtor)
          : connectSse(params, events, {
              ...(this.#o.fetch !== undefined ? { fetch: this.#o.fetch } : {}),
              ...(this.#o.EventSource ? { EventSource: this.#o.EventSource } : {}),
              ...(this.#o.types ? { types: this.#o.types } : {}),
              ...(this.#o.idleTimeoutMs ? { idleTimeoutMs: this.#o.idleTimeoutMs } : {}),
            });
    } catch (e) {
      this.#setStatus('closed', new HeraldClientError((e as Error).message, 0));
    }
  }

  /** Callbacks for one connection attempt; stale attempts (an older generation) are ignored. */
  #events(generation: number): TransportEvents {
    const live = (): boolean => generation === this.#generation;
    return {
      open: () => {
        if (!live()) return;
        this.#everOpened = true;
        this.#attempt = 0;
        this.#wsFailures = 0;
        this.#setStatus('open', undefined);
      },
      update: (update) => {
        if (!live()) return;
        this.current.lastEventId = update.id;
        if (update.type === 'herald.state' && this.#o.onState) {
          const payload = parseJson(update.data) as StatePayload | undefined;
          if (payload) guard(this.#o.onState, payload);
        }
        guard(this.#o.onUpdate, update);
      },
      hubEvent: (type, data, selectors) => {
        if (!live()) return;
        if (type === 'herald.snapshot' && this.#o.onSnapshot && data)
          guard(
            this.#o.onSnapshot,
            data as SnapshotPayload,
            selectors ?? this.#params?.topics ?? this.current.topics,
          );
        if (type === 'herald.gap' && this.#o.onGap)
          guard(this.#o.onGap, (data ?? {}) as { lastEventId?: string });
        if (this.#o.onEvent) guard(this.#o.onEvent, type, data);
      },
      retry: (ms) => {
        if (live()) this.#retryMs = ms;
      },
      end: (error, tokenExpired) => {
        if (!live()) return;
        this.#conn = undefined;
        if (tokenExpired) {
          // A fresh token may fix it at once; if it does not, the hub's 401 stops us.
          this.#attempt = 0;
          this.#generation++;
          void this.#connect();
          return;
        }
        const err = error ?? new HeraldClientError('connection ended', 0);
        if (!err.retryable) {
          this.#setStatus('closed', err);
          return;
        }
        if (this.#kind === 'ws' && !this.#everOpened && (this.#o.transport ?? 'auto') === 'auto') {
          if (++this.#wsFailures >= WS_FAILURES_BEFORE_SSE) this.#kind = 'sse';
        }
        this.#retryLater(err);
      },
    };
  }

  #retryLater(error: HeraldClientError): void {
    const generation = ++this.#generation;
    let delay = backoffDelay(this.#attempt++, this.#o.backoff, this.#retryMs);
    if (error.retryAfter !== undefined) delay = Math.max(delay, error.retryAfter * 1000);
    this.#setStatus('reconnecting', error);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (generation === this.#generation) void this.#connect();
    }, delay);
  }
}

function guard<A extends unknown[]>(fn: (...args: A) => void, ...args: A): void {
  try {
    fn(...args);
  } catch (e) {
    // A throwing callback must not break the connection; report it like an event listener would.
    queueMicrotask(() => {
      throw e;
    });
  }
}

/**
 * Subscribes to topics on a Herald (or any Mercure) hub, in browsers and Node. Reconnects with
 * exponential backoff and full jitter, resumes from the last id received, and stops (status
 * `closed` with an error) when the hub refuses in a way retrying cannot fix.
 */
export function subscribe(options: SubscribeOptions): HeraldSubscription {
  if (wantsSharing(options) && canShareConnection()) return new SharedSubscription(options, connectOwn);
  return new Subscriber(options);
}

/**
 * A replay (`lastEventId`) or a state snapshot is sent once per connection, at its start: a tab
 * joining a group that is already live would never see it, so such calls connect on their own.
 */
function wantsSharing(o: SubscribeOptions): boolean {
  return o.shared !== false && o.lastEventId === undefined && !o.snapshot && o.throttle === undefined;
}

function connectOwn(options: SubscribeOptions): HeraldSubscription {
  return new Subscriber(options);
}
