/**
 * The registry: which subscriptions exist and what each listens to (the topic index), the
 * seats they hold under the connection caps, their token-expiry timers; it tells the presence
 * feed when selectors go live or away. Sends nothing to subscribers itself.
 */
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { compileMatcher } from '../protocol/matchers.ts';
import { compileSelector, type MatcherSpec, type Selector } from '../protocol/selector.ts';
import { ConnectionAdmission, type AdmissionTicket, type ConnectionLimits } from './limits.ts';
import type { HubObserver } from './observer.ts';
import type { NodeView } from './node-view.ts';
import { isMonitor } from './stats.ts';
import type { ClientInfo, Subscription } from './subscription.ts';
import { TopicIndex, type PatternBudget } from './topic-index.ts';

export interface RegistryOptions {
  observer: HubObserver;
  hubUrl: string;
  maxSelectors: number;
  maxTemplateExpressions: number;
  templateBudget: Partial<PatternBudget> | undefined;
  connectionLimits: ConnectionLimits;
  /** The other processes of this node (`--workers`): the total cap counts their connections. */
  node: NodeView | undefined;
  /** A token's `exp` passed: the hub ends the subscription. */
  onExpired(sub: Subscription): void;
  /** Selectors went live or away: the subscription events (presence-feed.ts), when on. */
  announce(sub: Subscription, active: boolean, selectors?: readonly Selector[]): void;
}

export class Registry {
  readonly index: TopicIndex;
  readonly #subs = new Set<Subscription>();
  readonly #admission: ConnectionAdmission;
  readonly #released = new WeakSet<AdmissionTicket>();
  readonly #options: RegistryOptions;

  constructor(options: RegistryOptions) {
    this.#options = options;
    this.index = new TopicIndex(options.templateBudget);
    this.#admission = new ConnectionAdmission(options.connectionLimits, options.node);
  }

  get size(): number {
    return this.#subs.size;
  }

  subscriptions(): IterableIterator<Subscription> {
    return this.#subs.values();
  }

  /** Connections counted by the total cap (SSE subscriptions and WebSockets). */
  get admitted(): number {
    return this.#admission.total;
  }

  /**
   * Compiles draft-07 selectors and draft-08 matchers; throws a 400 HeraldError naming the
   * bad one, or saying the set is over a per-subscription limit (with `kept`, the selectors
   * the subscription already has).
   */
  compile(
    sources: readonly string[],
    matchers: readonly MatcherSpec[] = [],
    kept: readonly Selector[] = [],
  ): Selector[] {
    const { maxSelectors, maxTemplateExpressions } = this.#options;
    if (sources.length + matchers.length === 0)
      throw new HeraldError(
        ErrorCode.missingTopic,
        'missing "topic" (draft-07) or "match" (draft-08) parameter',
      );
    if (sources.length + matchers.length > maxSelectors) throw tooManySelectors(maxSelectors);
    // A template some subscription already holds is taken as compiled (it was validated then).
    const compiled = [
      ...sources.map((source) => this.index.heldTemplate(source) ?? compileSelector(source)),
      ...matchers.map((m) => compileMatcher(m, this.#options.hubUrl)),
    ];
    if (maxTemplateExpressions > 0) {
      // Each distinct template once: its weight is what matching it costs per topic character.
      const weights = new Map<string, number>();
      for (const sel of [...kept, ...compiled])
        if (sel.kind === 'template') weights.set(sel.source, sel.matcher.weight);
      let total = 0;
      for (const w of weights.values()) total += w;
      if (total > maxTemplateExpressions)
        throw new HeraldError(
          ErrorCode.tooManySelectors,
          `at most ${maxTemplateExpressions} URI-template expressions per subscription (these selectors have ${total})`,
        );
    }
    return compiled;
  }

  /** Throws the per-subscription cap error when a subscription would hold `count` selectors. */
  assertSelectorCount(count: number): void {
    if (count > this.#options.maxSelectors) throw tooManySelectors(this.#options.maxSelectors);
  }

  /** Reserves a connection's seat under the total and per-IP caps, or throws a 429 HeraldError. */
  admit(client: ClientInfo): AdmissionTicket {
    const seat: AdmissionTicket = { ip: client.ip, subject: undefined, selectors: [] };
    this.#admission.admit(seat);
    return seat;
  }

  /** Gives back a seat from `admit`; a second call does nothing. */
  release(seat: AdmissionTicket): void {
    if (this.#released.has(seat)) return;
    this.#released.add(seat);
    this.#admission.release(seat);
  }

  /** Admits, indexes and announces a subscription, and arms its token-expiry timer. */
  register(sub: Subscription, seated: boolean): void {
    const ticket: AdmissionTicket = {
      ip: sub.client.ip,
      subject: sub.principal.subject,
      selectors: [...new Set(sub.selectors.map((s) => s.source))],
      seated,
    };
    this.#admission.admit(ticket);
    try {
      sub.selectors = this.index.addAll(sub, sub.selectors);
    } catch (e) {
      this.#admission.release(ticket);
      throw e;
    }
    sub.ticket = ticket;
    sub.monitor = isMonitor(sub);
    this.#subs.add(sub);
    const exp = sub.principal.expiresAt;
    if (exp !== undefined) {
      // setTimeout overflows past ~24.8 days; such tokens are re-checked when the timer fires.
      const delay = Math.min(Math.max(0, exp - Date.now()), 2 ** 31 - 1);
      sub.expiryTimer = setTimeout(expire, delay, this, sub);
      sub.expiryTimer.unref();
    }
    this.#options.observer.onSubscribe?.(sub);
    this.#options.announce(sub, true);
  }

  /** Takes a subscription out of the index, the caps and the timers. Marks it closed. */
  unregister(sub: Subscription): void {
    if (sub.ticket) this.#admission.release(sub.ticket);
    sub.ticket = undefined;
    sub.closed = true;
    if (sub.conflation?.timer) clearTimeout(sub.conflation.timer);
    this.#subs.delete(sub);
    for (const sel of sub.selectors) this.index.remove(sub, sel);
    if (sub.expiryTimer) clearTimeout(sub.expiryTimer);
    this.#options.announce(sub, false);
  }

  /** Indexes and announces selectors added to a live subscription. */
  addSelectors(sub: Subscription, compiled: readonly Selector[]): void {
    const added = this.index.addAll(sub, compiled);
    sub.selectors = [...sub.selectors, ...added];
    sub.monitor = isMonitor(sub);
    this.#options.announce(sub, true, compiled);
  }

  /** Removes selectors from a live subscription (unknown ones ignored); returns those removed. */
  removeSelectors(sub: Subscription, sources: readonly string[]): string[] {
    const drop = new Set(sources);
    const removed: Selector[] = [];
    const kept: Selector[] = [];
    for (const sel of sub.selectors) {
      if (drop.has(sel.source)) {
        if (!sub.closed) this.index.remove(sub, sel);
        removed.push(sel);
      } else kept.push(sel);
    }
    sub.selectors = kept;
    sub.monitor = isMonitor(sub);
    if (!sub.closed && removed.length > 0) this.#options.announce(sub, false, removed);
    return removed.map((s) => s.source);
  }

  /** @internal Timer callback: the token's `exp` may have been pushed past what a timer holds. */
  expired(sub: Subscription): void {
    const exp = sub.principal.expiresAt ?? 0;
    if (exp > Date.now()) {
      sub.expiryTimer = setTimeout(expire, Math.min(exp - Date.now(), 2 ** 31 - 1), this, sub);
      sub.expiryTimer.unref();
      return;
    }
    this.#options.onExpired(sub);
  }
}

function expire(registry: Registry, sub: Subscription): void {
  registry.expired(sub);
}

function tooManySelectors(max: number): HeraldError {
  return new HeraldError(ErrorCode.tooManySelectors, `at most ${max} topic selectors per subscription`);
}
