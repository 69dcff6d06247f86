import { HeraldClientError } from './errors.ts';
import type { ConnectionStatus, HeraldSubscription, SubscribeOptions } from './subscribe.ts';
import type { HeraldUpdate } from './transport.ts';

/**
 * One upstream connection for every tab of an origin that subscribes to the same hub, topics and
 * token. The tabs elect a leader with a Web Lock; the leader runs an ordinary subscription (with
 * its reconnect and resume) and relays what it receives over a BroadcastChannel. When the leader
 * tab closes, the browser hands the lock to the next tab in line, which resumes from the last id
 * it relayed; ids already seen are dropped, so nothing is delivered twice.
 */

type Wire =
  | { t: 'hello' }
  | { t: 'update'; u: HeraldUpdate }
  | { t: 'status'; s: ConnectionStatus; e?: WireError; k: 'sse' | 'ws' }
  | { t: 'gap'; info: { lastEventId?: string } }
  | { t: 'event'; type: string; data: unknown }
  | { t: 'leaving' };

interface WireError {
  message: string;
  status: number;
  code?: string;
  retryAfter?: number;
}

/** Ids remembered per tab to drop repeats after a takeover. */
const SEEN_IDS = 1024;

/** True where tabs can share: Web Locks and BroadcastChannel (not Node, not very old browsers). */
export function canShareConnection(): boolean {
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  return typeof BroadcastChannel === 'function' && typeof nav?.locks?.request === 'function';
}

/** The group a subscription joins: same hub, same topic set, same token (by hash). */
function groupName(o: SubscribeOptions, topics: readonly string[]): string {
  const key = JSON.stringify([
    o.url,
    [...new Set(topics)].sort(),
    o.token ?? '',
    o.transport ?? 'auto',
    o.dialect ?? 'draft-07',
    [...(o.patterns ?? [])].sort(),
  ]);
  return `herald:${fnv1a(key)}`;
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36) + text.length.toString(36);
}

function toWire(e: HeraldClientError | undefined): WireError | undefined {
  if (!e) return undefined;
  return {
    message: e.message,
    status: e.status,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.retryAfter !== undefined ? { retryAfter: e.retryAfter } : {}),
  };
}

function fromWire(e: WireError | undefined): HeraldClientError | undefined {
  return e ? new HeraldClientError(e.message, e.status, e.code, e.retryAfter) : undefined;
}

/** A subscription that is a tab's share of a connection owned by whichever tab leads its group. */
export class SharedSubscription implements HeraldSubscription {
  readonly #o: SubscribeOptions;
  readonly #connect: (options: SubscribeOptions) => HeraldSubscription;
  #topics: readonly string[];
  #status: ConnectionStatus = 'connecting';
  #error: HeraldClientError | undefined;
  #lastEventId: string | undefined;
  #kind: 'sse' | 'ws';
  readonly #seen = new Set<string>();
  // Per membership (a setTopics to another group starts a new one):
  #channel: BroadcastChannel | undefined;
  #abort: AbortController | undefined;
  #upstream: HeraldSubscription | undefined;
  /** Identity of the current leadership; callbacks of an older one are ignored. */
  #lease: object | undefined;
  #release: (() => void) | undefined;

  constructor(options: SubscribeOptions, connect: (options: SubscribeOptions) => HeraldSubscription) {
    // As in subscribe(): draft-08 URL patterns alone are enough to subscribe.
    if (options.topics.length === 0 && !options.patterns?.length)
      throw new Error('herald: subscribe needs at least one topic');
    this.#o = options;
    this.#connect = connect;
    this.#topics = [...options.topics];
    this.#kind = options.transport === 'sse' ? 'sse' : 'ws';
    this.#join();
  }

  get status(): ConnectionStatus {
    return this.#status;
  }
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }
  get error(): HeraldClientError | undefined {
    return this.#error;
  }
  get transport(): 'sse' | 'ws' {
    return this.#upstream?.transport ?? this.#kind;
  }
  get topics(): readonly string[] {
    return this.#topics;
  }
  /** This tab owns the upstream connection. */
  get leader(): boolean {
    return this.#lease !== undefined;
  }

  setTopics(topics: readonly string[]): void {
    if (this.#status === 'closed') return;
    if (topics.length === 0 && !this.#o.patterns?.length)
      throw new Error('herald: setTopics needs at least one topic');
    const before = groupName(this.#o, this.#topics);
    this.#topics = [...new Set(topics)];
    if (groupName(this.#o, this.#topics) === before) return;
    // Another topic set is another group: leave this one (handing over if leading), join that one.
    this.#leave();
    this.#join();
  }

  close(): void {
    if (this.#status === 'closed') return;
    this.#leave();
    this.#setStatus('closed', undefined);
  }

  #join(): void {
    const name = groupName(this.#o, this.#topics);
    const channel = new BroadcastChannel(name);
    const abort = new AbortController();
    this.#channel = channel;
    this.#abort = abort;
    channel.onmessage = (ev: MessageEvent<Wire>) => this.#onMessage(ev.data);
    navigator.locks
      .request(name, { signal: abort.signal }, () => {
        if (abort.signal.aborted) return undefined;
        // Held until this tab leaves the group (or closes: the browser then releases it).
        return new Promise<void>((release) => {
          this.#release = release;
          this.#lead(channel);
        });
      })
      .catch(() => {
        // Aborted while waiting in line: this tab left before it was needed.
      });
    this.#post({ t: 'hello' });
  }

  #leave(): void {
    this.#abort?.abort();
    this.#abort = undefined;
    this.#lease = undefined;
    if (this.#upstream) {
      const upstream = this.#upstream;
      this.#upstream = undefined;
      upstream.close();
      this.#post({ t: 'leaving' });
    }
    this.#release?.();
    this.#release = undefined;
    this.#channel?.close();
    this.#channel = undefined;
  }

  #lead(channel: BroadcastChannel): void {
    const lease = {};
    this.#lease = lease;
    const live = (): boolean => this.#lease === lease && this.#channel === channel;
    const wasLive = this.#status === 'open' || this.#status === 'reconnecting';
    // The connection is the ordinary one (its own reconnect and resume); this only relays it.
    this.#upstream = this.#connect({
      ...this.#o,
      topics: this.#topics,
      shared: false,
      lastEventId: this.#lastEventId,
      onUpdate: (u) => {
        if (!live()) return;
        this.#deliver(u);
        this.#post({ t: 'update', u });
      },
      onStatus: (s, e) => {
        if (!live()) return;
        // Taking over a group that was live is a reconnect, not a first connect.
        const status = s === 'connecting' && wasLive ? 'reconnecting' : s;
        this.#post({ t: 'status', s: status, e: toWire(e), k: this.transport });
        this.#setStatus(status, e);
        if (status === 'closed') this.#leave();
      },
      onGap: (info) => {
        if (!live()) return;
        this.#post({ t: 'gap', info });
        if (this.#o.onGap) guard(this.#o.onGap, info);
      },
      onEvent: (type, data) => {
        if (!live()) return;
        this.#post({ t: 'event', type, data });
        if (this.#o.onEvent) guard(this.#o.onEvent, type, data);
      },
    });
  }

  #onMessage(m: Wire): void {
    if (this.#lease) {
      // Newcomers ask where things stand; only the leader answers.
      if (m.t === 'hello')
        this.#post({ t: 'status', s: this.#status, e: toWire(this.#error), k: this.transport });
      return;
    }
    switch (m.t) {
      case 'update':
        this.#deliver(m.u);
        break;
      case 'status':
        this.#kind = m.k;
        this.#setStatus(m.s, fromWire(m.e));
        // The leader was refused for good; every tab of the group would be too.
        if (m.s === 'closed') this.#leave();
        break;
      case 'leaving':
        this.#setStatus('reconnecting', this.#error);
        break;
      case 'gap':
        if (this.#o.onGap) guard(this.#o.onGap, m.info);
        break;
      case 'event':
        if (this.#o.onEvent) guard(this.#o.onEvent, m.type, m.data);
        break;
    }
  }

  #deliver(u: HeraldUpdate): void {
    if (this.#seen.has(u.id)) return;
    this.#seen.add(u.id);
    if (this.#seen.size > SEEN_IDS) this.#seen.delete(this.#seen.values().next().value as string);
    this.#lastEventId = u.id;
    guard(this.#o.onUpdate, u);
  }

  #post(m: Wire): void {
    this.#channel?.postMessage(m);
  }

  #setStatus(status: ConnectionStatus, error: HeraldClientError | undefined): void {
    if (this.#status === 'closed') return;
    if (status === this.#status && error?.message === this.#error?.message) return;
    this.#status = status;
    this.#error = error;
    if (this.#o.onStatus) guard(this.#o.onStatus, status, error);
  }
}

function guard<A extends unknown[]>(fn: (...args: A) => void, ...args: A): void {
  try {
    fn(...args);
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}
