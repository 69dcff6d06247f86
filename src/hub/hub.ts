import { mayPublish, mayReceivePrivate, subjectLabel, type Principal } from '../auth/principal.ts';
import type { Broker } from '../broker/broker.ts';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';
import { EncodedUpdate } from '../protocol/frames.ts';
import { generateId } from '../protocol/ids.ts';
import { compileSelector, selectorMatches, type Selector } from '../protocol/selector.ts';
import { HubEvent, STATS_TOPIC, type PublishInput, type Update } from '../protocol/update.ts';
import { defaultFieldLimits, validatePublishInput, type FieldLimits } from '../protocol/validate.ts';
import type { HubObserver } from './observer.ts';
import { subscriptionEvents } from './presence.ts';
import type { CloseReason, OpenInfo, Sink } from './sink.ts';
import type { HubCounters, HubStatsSnapshot } from './stats.ts';
import { Subscription } from './subscription.ts';
import { TopicIndex } from './topic-index.ts';

export interface HubOptions {
  broker: Broker;
  /** Interval of the shared heartbeat comment; 0 disables it. */
  heartbeatMs?: number;
  /** Most updates replayed on one resume. */
  replayLimit?: number;
  /** Most selectors in one subscription. */
  maxSelectors?: number;
  /** Interval of `herald.stats` events for admin subscribers; 0 disables them. */
  statsIntervalMs?: number;
  fieldLimits?: FieldLimits;
  observer?: HubObserver;
  /**
   * Hub path; when set, the start and end of every subscription is published as a private
   * update on `{path}/subscriptions/{topic}/{subscriber}` (Mercure subscription events).
   */
  subscriptionEventsPath?: string;
}

export interface SubscribeRequest {
  selectors: readonly string[];
  principal: Principal;
  /** Resume cursor: an update id, or `earliest`. */
  lastEventId?: string;
  sink: Sink;
}

/**
 * The hub: who listens to what, fan-out of every update to the subscribers allowed to see
 * it, and the seam between history and live updates on resume. Does no I/O of its own: the
 * broker moves updates between nodes, sinks write bytes.
 */
export class Hub {
  readonly broker: Broker;
  readonly counters: HubCounters = { published: 0, delivered: 0, resumes: 0, gaps: 0, refusals: {} };
  readonly #index = new TopicIndex();
  readonly #subs = new Set<Subscription>();
  readonly #heartbeatMs: number;
  readonly #replayLimit: number;
  readonly #maxSelectors: number;
  readonly #statsIntervalMs: number;
  readonly #limits: FieldLimits;
  readonly #observer: HubObserver;
  readonly #eventsPath: string | undefined;
  /** Id of the last update dispatched on this node (the subscriptions API cursor). */
  lastEventId = 'earliest';
  #timers: ReturnType<typeof setInterval>[] = [];
  #closing = false;

  // Per-dispatch state, so the per-subscriber visit needs no closure.
  #stamp = 0;
  #current: EncodedUpdate | undefined;
  #currentDeliveries = 0;
  #privateDecisions: Map<string, boolean> | undefined;
  #lastRates = { time: Date.now(), published: 0, delivered: 0 };

  constructor(options: HubOptions) {
    this.broker = options.broker;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#replayLimit = options.replayLimit ?? 10_000;
    this.#maxSelectors = options.maxSelectors ?? 100;
    this.#statsIntervalMs = options.statsIntervalMs ?? 1000;
    this.#limits = options.fieldLimits ?? defaultFieldLimits;
    this.#observer = options.observer ?? {};
    this.#eventsPath = options.subscriptionEventsPath;
  }

  async start(): Promise<void> {
    await this.broker.start(this.#dispatch);
    if (this.#heartbeatMs > 0) this.#every(this.#heartbeatMs, () => this.#heartbeat());
    if (this.#statsIntervalMs > 0) this.#every(this.#statsIntervalMs, () => this.#publishStats());
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Validates, authorizes and publishes; resolves with the stored updates (ids assigned). */
  async publish(inputs: readonly PublishInput[], principal: Principal): Promise<Update[]> {
    if (this.#closing) throw new HeraldError(ErrorCode.shuttingDown, 'hub is shutting down');
    const valid = inputs.map((i) => validatePublishInput(i, this.#limits));
    for (const input of valid) {
      if (!mayPublish(principal, input.topics)) {
        const denied = input.topics.find((t) => !principal.publish?.matchesTopic(t)) ?? input.topics[0];
        throw new HeraldError(
          ErrorCode.forbiddenTopic,
          principal.publish
            ? `token may not publish to topic ${JSON.stringify(denied)}`
            : 'token has no mercure.publish claim',
        );
      }
    }
    let stored: Update[];
    try {
      stored = await this.broker.publish(valid);
    } catch (e) {
      if (isHeraldError(e)) throw e;
      throw new HeraldError(
        ErrorCode.brokerUnavailable,
        `broker could not store the update: ${e instanceof Error ? e.message : String(e)}`,
        { retryAfter: 1 },
      );
    }
    this.counters.published += stored.length;
    this.#observer.onPublish?.(stored);
    return stored;
  }

  /** Compiles selectors; throws a 400 HeraldError naming the bad one. */
  compileSelectors(sources: readonly string[]): Selector[] {
    if (sources.length === 0) throw new HeraldError(ErrorCode.missingTopic, 'missing "topic" parameter');
    if (sources.length > this.#maxSelectors)
      throw new HeraldError(
        ErrorCode.tooManySelectors,
        `at most ${this.#maxSelectors} topic selectors per subscription`,
      );
    return sources.map(compileSelector);
  }

  /**
   * Registers a subscription and makes it live. With `lastEventId`, live updates are held back
   * while history is read, then history is sent, then the held updates minus those already
   * replayed: nothing is lost or repeated at the seam.
   */
  async subscribe(request: SubscribeRequest): Promise<Subscription> {
    if (this.#closing) throw new HeraldError(ErrorCode.shuttingDown, 'hub is shutting down');
    const selectors = this.compileSelectors(request.selectors);
    const sub = new Subscription(generateId(), request.principal, request.sink, selectors);
    const resuming = request.lastEventId !== undefined;
    if (resuming) sub.pending = [];
    this.#register(sub);

    if (!resuming) {
      request.sink.open({ subscriberId: sub.id, gap: false, selectors: request.selectors });
      return sub;
    }
    await this.#replay(sub, request.lastEventId!, request.selectors, selectors, []);
    return sub;
  }

  /**
   * Adds selectors to a live subscription (a WebSocket `subscribe` op after the first one).
   * Selectors it already has are ignored; the rest go live at once. With `lastEventId`, the
   * history after it is replayed for the added selectors only: an update that also matches a
   * selector the subscription already had is not repeated, since the connection receives
   * those topics already. Resolves with the selectors actually added.
   */
  async addSelectors(sub: Subscription, sources: readonly string[], lastEventId?: string): Promise<string[]> {
    if (this.#closing) throw new HeraldError(ErrorCode.shuttingDown, 'hub is shutting down');
    if (sub.closed) throw new HeraldError(ErrorCode.badRequest, 'subscription is closed');
    if (sub.pending) throw new HeraldError(ErrorCode.badRequest, 'subscription is still replaying history');
    const have = new Set(sub.selectors.map((s) => s.source));
    const fresh = [...new Set(sources)].filter((s) => !have.has(s));
    const compiled = this.compileSelectors(sources).filter((s) => fresh.includes(s.source));
    if (have.size + compiled.length > this.#maxSelectors)
      throw new HeraldError(
        ErrorCode.tooManySelectors,
        `at most ${this.#maxSelectors} topic selectors per subscription`,
      );
    const prior = sub.selectors;
    sub.selectors = [...prior, ...compiled];
    for (const sel of compiled) this.#index.add(sub, sel);
    this.#announce(sub, true, compiled);
    if (lastEventId === undefined) {
      sub.sink.open({ subscriberId: sub.id, gap: false, selectors: fresh });
      return fresh;
    }
    sub.pending = [];
    await this.#replay(sub, lastEventId, fresh, compiled, prior);
    return fresh;
  }

  /**
   * Removes selectors from a live subscription; unknown ones are ignored. A subscription left
   * with none stays registered (its connection may subscribe again) and receives nothing.
   * Returns the selectors actually removed.
   */
  removeSelectors(sub: Subscription, sources: readonly string[]): string[] {
    const drop = new Set(sources);
    const removed: Selector[] = [];
    const kept: Selector[] = [];
    for (const sel of sub.selectors) {
      if (drop.has(sel.source)) {
        if (!sub.closed) this.#index.remove(sub, sel);
        removed.push(sel);
      } else kept.push(sel);
    }
    sub.selectors = kept;
    if (!sub.closed && removed.length > 0) this.#announce(sub, false, removed);
    return removed.map((s) => s.source);
  }

  /**
   * The resume seam. `sub.pending` is set, so live updates are being held: read history, send
   * what `replayFor` matches (and `skipFor` does not), then the held updates not replayed.
   */
  async #replay(
    sub: Subscription,
    lastEventId: string,
    sources: readonly string[],
    replayFor: readonly Selector[],
    skipFor: readonly Selector[],
  ): Promise<void> {
    let page;
    try {
      page = await this.broker.historyAfter(lastEventId, this.#replayLimit);
    } catch (e) {
      if (skipFor.length === 0) this.#unregister(sub);
      else {
        this.removeSelectors(
          sub,
          replayFor.map((s) => s.source),
        );
        this.#drain(sub, new Set());
      }
      throw new HeraldError(
        ErrorCode.brokerUnavailable,
        `history unavailable: ${e instanceof Error ? e.message : String(e)}`,
        { retryAfter: 1 },
      );
    }
    if (sub.closed) return;
    const gap = !page.found;
    const info: OpenInfo = {
      subscriberId: sub.id,
      gap,
      resumedFrom: gap || lastEventId === 'earliest' ? 'earliest' : lastEventId,
      selectors: sources,
    };
    this.counters.resumes++;
    if (gap) this.counters.gaps++;
    this.#observer.onResume?.(sub, gap);
    sub.sink.open(info);
    if (gap) sub.sink.notice(HubEvent.gap, { lastEventId, reason: 'unknown-or-expired' });

    const replayed = new Set<string>();
    for (const update of page.updates) {
      replayed.add(update.position);
      if (this.#visibleTo(sub, update, replayFor) && !matchesAny(skipFor, update.topics))
        this.#deliver(sub, new EncodedUpdate(update));
    }
    this.#drain(sub, replayed);
  }

  /** Goes live: sends the updates held during a replay, minus those already replayed. */
  #drain(sub: Subscription, replayed: ReadonlySet<string>): void {
    const held = sub.pending ?? [];
    sub.pending = undefined;
    for (const encoded of held) {
      // The filter matters only when adding selectors failed: they were removed again.
      if (replayed.has(encoded.update.position) || sub.closed) continue;
      if (matchesAny(sub.selectors, encoded.update.topics)) this.#deliver(sub, encoded);
    }
  }

  /** Ends a subscription (client left, token expired, shutdown...). Idempotent. */
  unsubscribe(sub: Subscription, reason: CloseReason): void {
    if (sub.closed) return;
    this.#unregister(sub);
    sub.sink.close(reason);
    this.#observer.onUnsubscribe?.(sub, reason);
  }

  recordRefusal(reason: string): void {
    this.counters.refusals[reason] = (this.counters.refusals[reason] ?? 0) + 1;
    this.#observer.onRefusal?.(reason);
  }

  subscriptions(): IterableIterator<Subscription> {
    return this.#subs.values();
  }

  get connectionCount(): number {
    return this.#subs.size;
  }

  /** Stops accepting, tells every subscriber to come back later, and closes the broker. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    for (const sub of [...this.#subs]) this.unsubscribe(sub, 'shutdown');
    await this.broker.close();
  }

  #register(sub: Subscription): void {
    this.#subs.add(sub);
    for (const sel of sub.selectors) this.#index.add(sub, sel);
    const exp = sub.principal.expiresAt;
    if (exp !== undefined) {
      // setTimeout overflows past ~24.8 days; such tokens are re-checked when the timer fires.
      const delay = Math.min(Math.max(0, exp - Date.now()), 2 ** 31 - 1);
      sub.expiryTimer = setTimeout(expire, delay, this, sub);
      sub.expiryTimer.unref();
    }
    this.#observer.onSubscribe?.(sub);
    this.#announce(sub, true);
  }

  /** Subscription events for `selectors` (all of the subscription's unless a WS op changed some). */
  #announce(sub: Subscription, active: boolean, selectors: readonly Selector[] = sub.selectors): void {
    if (this.#eventsPath === undefined || selectors.every((s) => s.source.startsWith(this.#eventsPath!)))
      return;
    const view = selectors === sub.selectors ? sub : ({ ...sub, selectors } as Subscription);
    // Presence is best effort: a broker hiccup must not fail the subscription itself.
    this.broker
      .publish(subscriptionEvents(this.#eventsPath, view, active))
      .catch(() => this.recordRefusal('presence-event-lost'));
  }

  #unregister(sub: Subscription): void {
    sub.closed = true;
    this.#subs.delete(sub);
    for (const sel of sub.selectors) this.#index.remove(sub, sel);
    if (sub.expiryTimer) clearTimeout(sub.expiryTimer);
    this.#announce(sub, false);
  }

  #visibleTo(sub: Subscription, update: Update, selectors: readonly Selector[]): boolean {
    if (update.private && !mayReceivePrivate(sub.principal, update.topics)) return false;
    return matchesAny(selectors, update.topics);
  }

  #deliver(sub: Subscription, encoded: EncodedUpdate): void {
    sub.sink.send(encoded);
    this.counters.delivered++;
  }

  // Arrow properties: created once per hub, passed to the broker and the index without
  // allocating per update or per subscriber.
  #dispatch = (update: Update): void => {
    this.lastEventId = update.id;
    this.#current = new EncodedUpdate(update);
    this.#stamp++;
    this.#currentDeliveries = 0;
    this.#privateDecisions = undefined;
    this.#index.forEachMatch(update.topics, this.#visit);
    this.#current = undefined;
    this.#observer.onDispatch?.(update, this.#currentDeliveries, Date.now() - update.publishedAt);
  };

  #visit = (sub: Subscription): void => {
    if (sub.stamp === this.#stamp) return;
    sub.stamp = this.#stamp;
    const encoded = this.#current!;
    const update = encoded.update;
    if (update.private && !this.#mayReceive(sub.principal, update)) return;
    if (sub.pending) {
      sub.pending.push(encoded);
      return;
    }
    this.#currentDeliveries++;
    this.#deliver(sub, encoded);
  };

  #mayReceive(principal: Principal, update: Update): boolean {
    const claims = principal.subscribe;
    if (!claims) return false;
    // Subscribers with the same claims share one decision per update.
    const cache = (this.#privateDecisions ??= new Map());
    let ok = cache.get(claims.key);
    if (ok === undefined) cache.set(claims.key, (ok = claims.matchesAny(update.topics)));
    return ok;
  }

  #heartbeat(): void {
    for (const sub of this.#subs) sub.sink.heartbeat();
  }

  /** Node-local statistics, as shown on the dashboard. */
  statsSnapshot(retained: (topic: string) => unknown = () => null): HubStatsSnapshot {
    const now = Date.now();
    const byTransport: Record<string, number> = { sse: 0, ws: 0 };
    const bySubject: Record<string, number> = {};
    for (const sub of this.#subs) {
      byTransport[sub.sink.transport] = (byTransport[sub.sink.transport] ?? 0) + 1;
      const label = subjectLabel(sub.principal);
      bySubject[label] = (bySubject[label] ?? 0) + 1;
    }
    const elapsed = Math.max(1, now - this.#lastRates.time) / 1000;
    const rates = {
      publishedPerSec: (this.counters.published - this.#lastRates.published) / elapsed,
      deliveredPerSec: (this.counters.delivered - this.#lastRates.delivered) / elapsed,
    };
    this.#lastRates = { time: now, published: this.counters.published, delivered: this.counters.delivered };
    const topics = [...this.#index.counts()]
      .filter(([topic]) => topic !== STATS_TOPIC)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 200)
      .map(([topic, subscribers]) => ({ topic, subscribers, retained: retained(topic) }));
    return {
      time: now,
      broker: this.broker.health(),
      connections: { total: this.#subs.size, byTransport, bySubject },
      totals: { published: this.counters.published, delivered: this.counters.delivered },
      rates,
      topics,
      refusals: { ...this.counters.refusals },
    };
  }

  #publishStats(): void {
    let snapshot: HubStatsSnapshot | undefined;
    for (const sub of this.#subs) {
      if (!sub.principal.admin || sub.pending) continue;
      if (!sub.selectors.some((s) => s.source === STATS_TOPIC)) continue;
      snapshot ??= this.statsSnapshot();
      sub.sink.notice(HubEvent.stats, snapshot);
    }
  }
}

function matchesAny(selectors: readonly Selector[], topics: readonly string[]): boolean {
  for (const sel of selectors) for (const t of topics) if (selectorMatches(sel, t)) return true;
  return false;
}

function expire(hub: Hub, sub: Subscription): void {
  const exp = sub.principal.expiresAt ?? 0;
  if (exp > Date.now()) {
    sub.expiryTimer = setTimeout(expire, Math.min(exp - Date.now(), 2 ** 31 - 1), hub, sub);
    sub.expiryTimer.unref();
    return;
  }
  hub.unsubscribe(sub, 'token-expired');
}
