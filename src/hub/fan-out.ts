/**
 * Fan-out: each update the broker hands this node goes to every subscriber allowed to see it.
 * The topic index visits only the subscriptions whose selectors match, each once; the update
 * is encoded once for all of them; each gets it in its own form (`herald.state` in state
 * mode) and through its own conflation. Hub notices (stats, gaps) go out the same way:
 * encoded once per event.
 */
import { mayReceivePrivate, type Principal } from '../auth/principal.ts';
import type { BrokerGap } from '../broker/broker.ts';
import { EncodedNotice, EncodedUpdate } from '../protocol/frames.ts';
import { selectorMatches, type Selector } from '../protocol/selector.ts';
import { HubEvent, type Update } from '../protocol/update.ts';
import type { HubObserver } from './observer.ts';
import type { Registry } from './registry.ts';
import type { SlowConsumers } from './slow-consumer.ts';
import { isNewState, type LatestStates } from './state-view.ts';
import type { HubStatistics } from './stats.ts';
import type { Subscription } from './subscription.ts';

export class FanOut {
  /** Id of the last update dispatched on this node (the subscriptions API cursor). */
  lastEventId = 'earliest';
  readonly #registry: Registry;
  readonly #latest: LatestStates;
  readonly #stats: HubStatistics;
  readonly #observer: HubObserver;
  readonly #slow: SlowConsumers;

  // Per-dispatch state, so the per-subscriber visit needs no closure.
  #stamp = 0;
  #current: EncodedUpdate | undefined;
  #currentDeliveries = 0;
  #privateDecisions: Map<string, boolean> | undefined;

  constructor(
    registry: Registry,
    latest: LatestStates,
    stats: HubStatistics,
    observer: HubObserver,
    slow: SlowConsumers,
  ) {
    this.#registry = registry;
    this.#latest = latest;
    this.#stats = stats;
    this.#observer = observer;
    this.#slow = slow;
  }

  // Arrow properties: created once per hub, passed to the broker and the index without
  // allocating per update or per subscriber.
  /** The broker's delivery callback: one update, from any node, in hub order. */
  readonly dispatch = (update: Update): void => {
    this.lastEventId = update.id;
    this.#current = new EncodedUpdate(update);
    if (update.stateVersion !== undefined && !this.#latest.note(this.#current)) {
      this.#current = undefined;
      this.#observer.onDispatch?.(update, 0, Date.now() - update.publishedAt);
      return;
    }
    this.#stamp++;
    this.#currentDeliveries = 0;
    this.#privateDecisions = undefined;
    // The canonical (first) topic only: one map update per update, whatever its alternates.
    this.#stats.recordTopic(update.topics[0]!);
    this.#registry.index.forEachMatch(update.topics, this.#visit);
    this.#current = undefined;
    this.#observer.onDispatch?.(update, this.#currentDeliveries, Date.now() - update.publishedAt);
  };

  /** The broker's gap callback: updates were lost on their way here, so every subscriber may lack some. */
  readonly brokerGap = (gap: BrokerGap): void => {
    this.#stats.counters.brokerGaps++;
    this.broadcast(this.#registry.subscriptions(), new EncodedNotice(HubEvent.gap, { reason: gap.reason }));
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
    // A change applied before this subscriber's snapshot was read but dispatched after it.
    if (sub.stateSeen !== undefined && !isNewState(sub, update, false)) return;
    this.#currentDeliveries++;
    this.send(sub, encoded);
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

  /** Delivers in the subscriber's form: state updates as `herald.state`, through its conflation. */
  send(sub: Subscription, encoded: EncodedUpdate): void {
    const out = sub.stateMode && encoded.update.stateVersion !== undefined ? encoded.asState : encoded;
    const c = sub.conflation;
    if (!c) return this.#deliver(sub, out);
    const now = Date.now();
    if (c.timer === undefined && now - c.last >= c.intervalMs) {
      c.last = now;
      this.#deliver(sub, out);
      return;
    }
    c.hold(out);
    if (c.timer === undefined) {
      c.timer = setTimeout(flushConflation, c.last + c.intervalMs - now, this, sub);
      c.timer.unref();
    }
  }

  /** @internal Timer callback of a subscription's conflation. */
  flushConflation(sub: Subscription): void {
    const c = sub.conflation!;
    c.timer = undefined;
    if (sub.closed) return;
    c.last = Date.now();
    for (const encoded of c.pending.values()) this.#deliver(sub, encoded);
    c.pending.clear();
  }

  #deliver(sub: Subscription, encoded: EncodedUpdate): void {
    if (this.#slow.skips(sub)) return;
    const within = sub.sink.send(encoded);
    sub.lastSentId = encoded.update.id;
    this.#stats.counters.delivered++;
    if (sub.monitor) this.#stats.counters.monitorDelivered++;
    if (!within) this.#slow.overBudget(sub);
  }

  /** One notice, encoded once, to each of `subs` (those skipping updates skip it too, unless `always`). */
  broadcast(subs: Iterable<Subscription>, notice: EncodedNotice, always = true): void {
    for (const sub of subs) {
      if (!always && sub.dropped !== undefined) continue;
      if (!sub.sink.notice(notice)) this.#slow.overBudget(sub);
    }
  }

  /** A notice to one subscriber (gap on resume, snapshot). */
  notify(sub: Subscription, notice: EncodedNotice): void {
    if (!sub.sink.notice(notice)) this.#slow.overBudget(sub);
  }
}

function flushConflation(fanOut: FanOut, sub: Subscription): void {
  fanOut.flushConflation(sub);
}

export function matchesAny(selectors: readonly Selector[], topics: readonly string[]): boolean {
  for (const sel of selectors) for (const t of topics) if (selectorMatches(sel, t)) return true;
  return false;
}

/** Whether `sub` may see `update` and one of `selectors` matches it (replay, where no index helps). */
export function visibleTo(sub: Subscription, update: Update, selectors: readonly Selector[]): boolean {
  if (update.private && !mayReceivePrivate(sub.principal, update.topics)) return false;
  return matchesAny(selectors, update.topics);
}
