/**
 * The hub: who listens to what, and every update to the subscribers allowed to see it. This
 * file is the coordinator; each job is a file of its own beside it:
 * - intake.ts: publish (validation, claims, rate, retained-state changes) up to the broker;
 * - registry.ts: subscriptions, the topic index, connection caps, expiry;
 * - presence-feed.ts: subscription events (Mercure presence), coalesced, and the presence list;
 * - resume.ts: the seam between history (and snapshots) and live updates;
 * - fan-out.ts: one update to its matching subscribers, encoded once, with conflation;
 * - slow-consumer.ts: what happens to a subscriber that falls behind;
 * - stats.ts: counters, rates and the `herald.stats` snapshot.
 * The hub does no I/O of its own: the broker moves updates between nodes, sinks write bytes.
 */
import type { Principal } from '../auth/principal.ts';
import type { Broker } from '../broker/broker.ts';
import type { StateStore } from '../broker/state-store.ts';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { EncodedNotice } from '../protocol/frames.ts';
import { generateId } from '../protocol/ids.ts';
import { slowConsumerNotice } from '../protocol/notices.ts';
import { ReservedNamespace } from '../protocol/reserved.ts';
import { DEFAULT_HUB_URL, type MatcherSpec, type Selector } from '../protocol/selector.ts';
import { STATS_TOPIC, type HubStatsSnapshot } from '../protocol/stats.ts';
import { HubEvent, type PublishInput, type Update } from '../protocol/update.ts';
import {
  checkThrottle,
  defaultFieldLimits,
  validateLastEventId,
  type FieldLimits,
} from '../protocol/validate.ts';
import { Conflation } from './conflation.ts';
import { FanOut } from './fan-out.ts';
import { Intake } from './intake.ts';
import {
  PublishRateLimiter,
  unlimitedConnections,
  type AdmissionTicket,
  type ConnectionLimits,
  type PublishRateOptions,
} from './limits.ts';
import type { NodeView } from './node-view.ts';
import type { HubObserver } from './observer.ts';
import { PresenceFeed } from './presence-feed.ts';
import type { PresenceStore } from './presence-store.ts';
import { Registry } from './registry.ts';
import { ResumeSeam } from './resume.ts';
import type { CloseReason, Sink } from './sink.ts';
import { SlowConsumers, type SlowConsumerPolicy } from './slow-consumer.ts';
import { LatestStates } from './state-view.ts';
import { HubStatistics, type ReadonlyHubCounters } from './stats.ts';
import { Subscription, type ClientInfo } from './subscription.ts';
import type { PatternBudget, PatternUsage } from './topic-index.ts';

export interface HubOptions {
  broker: Broker;
  /** Interval of the shared heartbeat comment; 0 disables it. */
  heartbeatMs?: number;
  /** Most updates replayed on one resume. */
  replayLimit?: number;
  /** Most selectors in one subscription. */
  maxSelectors?: number;
  /** Most URI-template expressions in one subscription, summed over its templates (0 = no cap). */
  maxTemplateExpressions?: number;
  /** Budget for URI templates on this node (all off by default). */
  templateBudget?: Partial<PatternBudget>;
  /** Interval of `herald.stats` events for admin subscribers (and of rate samples); 0 disables them. */
  statsIntervalMs?: number;
  /** Rates are averaged over this many stats intervals (default 5: a 5 s window at 1 s). */
  rateWindowSamples?: number;
  /** Most topics the stats list by recent publish activity (default 200). */
  activeTopicsLimit?: number;
  fieldLimits?: FieldLimits;
  /** Connection caps (all off by default). */
  connectionLimits?: Partial<ConnectionLimits>;
  /** Publish rate per publisher (off by default). */
  publishRate?: PublishRateOptions;
  /** What happens to a subscriber whose connection is over its byte budget (default `disconnect`). */
  slowConsumer?: SlowConsumerPolicy;
  observer?: HubObserver;
  /** Retained state (state topics); without it `retain`/patch publishes are refused. */
  state?: StateStore;
  /** Most topics in one snapshot. */
  snapshotLimit?: number;
  /** Most bytes of retained state text this node keeps for the dashboard's view (default 128 MiB). */
  retainedViewBytes?: number;
  /**
   * Hub path; when set, the start and end of every subscription is published as a private
   * update on `{path}/subscriptions/{topic}/{subscriber}` (Mercure subscription events).
   */
  subscriptionEventsPath?: string;
  /**
   * Cluster-wide presence and the coalescing of subscription events (with
   * `subscriptionEventsPath`): see PresenceFeed.
   */
  presence?: { store?: PresenceStore; intervalMs?: number; maxBatch?: number; maxPending?: number };
  /** The other processes of this node (`--workers N`): node-wide connection cap and stats. */
  node?: NodeView;
  /**
   * The hub's public URL (origin and path): relative URL patterns and topics resolve against
   * it, and its path is the reserved namespace publishers may not use. Default
   * `http://localhost/.well-known/mercure`.
   */
  hubUrl?: string;
}

export interface SubscribeRequest {
  /** Draft-07 selectors (`topic=`): exact topics or URI templates. */
  selectors: readonly string[];
  /** Draft-08 matchers (`match=`, `match_exact=`, `match_urlpattern=`). */
  matchers?: readonly MatcherSpec[];
  principal: Principal;
  /** Resume cursor: an update id, or `earliest`. */
  lastEventId?: string;
  sink: Sink;
  /** Send the retained state of every matching topic first (`herald.snapshot`). */
  snapshot?: boolean;
  /** Conflate: at most one update per topic per this many ms, always the latest. */
  throttleMs?: number;
  /** Where the connection comes from: per-IP caps and logs. */
  client?: ClientInfo;
  /**
   * The connection holds a seat already (`admitConnection`, a WebSocket since its upgrade):
   * the subscription then counts against the per-subject and per-selector caps only.
   */
  seated?: boolean;
}

/** The coordinator: owns the parts, runs the timers, and is the hub's one public face. */
export class Hub {
  readonly broker: Broker;
  readonly #state: StateStore | undefined;
  readonly #observer: HubObserver;
  readonly #limits: FieldLimits;
  readonly #heartbeatMs: number;
  readonly #statsIntervalMs: number;
  readonly #latest: LatestStates;
  readonly #stats: HubStatistics;
  readonly #registry: Registry;
  readonly #intake: Intake;
  readonly #slow: SlowConsumers;
  readonly #fanOut: FanOut;
  readonly #resume: ResumeSeam;
  readonly #node: NodeView | undefined;
  /** Subscription events and the presence list, when `subscriptionEventsPath` is set. */
  readonly presence: PresenceFeed | undefined;
  #timers: ReturnType<typeof setInterval>[] = [];
  #closing = false;

  constructor(options: HubOptions) {
    const broker = (this.broker = options.broker);
    const observer = (this.#observer = options.observer ?? {});
    this.#state = options.state;
    this.#limits = options.fieldLimits ?? defaultFieldLimits;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#statsIntervalMs = options.statsIntervalMs ?? 1000;
    this.#latest = new LatestStates(options.retainedViewBytes);
    const hubUrl = options.hubUrl ?? DEFAULT_HUB_URL;
    const reserved = new ReservedNamespace(hubUrl);
    const eventsPath = options.subscriptionEventsPath;
    this.#node = options.node;
    this.#registry = new Registry({
      observer,
      hubUrl,
      maxSelectors: options.maxSelectors ?? 100,
      maxTemplateExpressions: options.maxTemplateExpressions ?? 0,
      templateBudget: options.templateBudget,
      connectionLimits: { ...unlimitedConnections, ...options.connectionLimits },
      node: options.node,
      onExpired: (sub) => this.unsubscribe(sub, 'token-expired'),
      announce: (sub, active, selectors) => this.presence?.changed(sub, active, selectors),
    });
    const registry = this.#registry;
    this.presence =
      eventsPath === undefined
        ? undefined
        : new PresenceFeed({
            ...options.presence,
            eventsPath,
            // Presence is best effort: a broker hiccup must not fail the subscription itself.
            publish: (inputs) => broker.publish(inputs),
            // Watching subscription events is not itself announced (that would echo forever).
            announced: (s) => !s.source.startsWith(eventsPath) && !reserved.contains(s.source),
            local: () => registry.subscriptions(),
            onLost: (what) =>
              this.recordRefusal(what === 'events' ? 'presence-event-lost' : 'presence-store-lost'),
          });
    this.#stats = new HubStatistics(
      { broker, index: registry.index, subscriptions: () => registry.subscriptions() },
      {
        ...(options.rateWindowSamples !== undefined ? { rateWindowSamples: options.rateWindowSamples } : {}),
        ...(options.activeTopicsLimit !== undefined ? { activeTopicsLimit: options.activeTopicsLimit } : {}),
        ...(eventsPath !== undefined ? { presencePrefix: `${eventsPath}/subscriptions/` } : {}),
        statsIntervalMs: this.#statsIntervalMs,
      },
    );
    this.#intake = new Intake({
      broker,
      state: options.state,
      limits: this.#limits,
      reserved,
      publishRate: new PublishRateLimiter(options.publishRate ?? { ratePerSecond: 0, burst: 0 }),
      stats: this.#stats,
      observer,
    });
    this.#slow = new SlowConsumers(options.slowConsumer ?? 'disconnect', this.#stats, observer, (sub) =>
      this.unsubscribe(sub, 'slow-consumer'),
    );
    this.#fanOut = new FanOut(registry, this.#latest, this.#stats, observer, this.#slow);
    this.#resume = new ResumeSeam({
      broker,
      state: options.state,
      registry,
      fanOut: this.#fanOut,
      stats: this.#stats,
      observer,
      replayLimit: options.replayLimit ?? 10_000,
      snapshotLimit: options.snapshotLimit ?? 1000,
    });
  }

  /** The retained-state store, when the hub has one. */
  get state(): StateStore | undefined {
    return this.#state;
  }

  /** The hub's counters, read-only: metrics and tests read them, only the hub's parts change them. */
  get counters(): ReadonlyHubCounters {
    return this.#stats.counters;
  }

  /** Id of the last update dispatched on this node (the subscriptions API cursor). */
  get lastEventId(): string {
    return this.#fanOut.lastEventId;
  }

  async start(): Promise<void> {
    await this.broker.start(this.#fanOut.dispatch, this.#fanOut.brokerGap);
    await this.presence?.start();
    if (this.#heartbeatMs > 0) this.#every(this.#heartbeatMs, () => this.#heartbeat());
    if (this.#statsIntervalMs > 0)
      this.#every(this.#statsIntervalMs, () => {
        this.sampleRates();
        this.#publishStats();
      });
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Validates, authorizes, applies the publisher's rate limit and publishes; resolves with the
   * stored updates (ids assigned).
   */
  async publish(
    inputs: readonly PublishInput[],
    principal: Principal,
    client: ClientInfo = {},
  ): Promise<Update[]> {
    this.#assertOpen();
    return this.#intake.publish(inputs, principal, client);
  }

  /**
   * Compiles draft-07 selectors and draft-08 matchers; throws a 400 HeraldError naming the
   * bad one, or saying the set is over a per-subscription limit (with `kept`, the selectors
   * the subscription already has).
   */
  compileSelectors(
    sources: readonly string[],
    matchers: readonly MatcherSpec[] = [],
    kept: readonly Selector[] = [],
  ): Selector[] {
    return this.#registry.compile(sources, matchers, kept);
  }

  /** What URI templates hold on this node: distinct compiled ones, their bytes, matcher steps. */
  templateUsage(): PatternUsage {
    return this.#registry.index.usage();
  }

  /**
   * Registers a subscription and makes it live. With `lastEventId`, live updates are held back
   * while history is read, then history is sent, then the held updates minus those already
   * replayed: nothing is lost or repeated at the seam (resume.ts).
   */
  async subscribe(request: SubscribeRequest): Promise<Subscription> {
    this.#assertOpen();
    assertNotExpired(request.principal);
    const matchers = request.matchers ?? [];
    const selectors = this.compileSelectors(request.selectors, matchers);
    const sources = [...request.selectors, ...matchers.map((m) => m.match)];
    assertMayWatchStats(request.principal, sources);
    if (request.lastEventId !== undefined) validateLastEventId(request.lastEventId, this.#limits);
    const throttle = request.throttleMs === undefined ? undefined : checkThrottle(request.throttleMs);
    const sub = new Subscription(generateId(), request.principal, request.sink, selectors);
    if (request.client) sub.client = request.client;
    const snapshot = request.snapshot === true;
    sub.stateMode = snapshot || throttle !== undefined;
    if (throttle !== undefined) sub.conflation = new Conflation(throttle);
    const resuming = request.lastEventId !== undefined;
    if (resuming || snapshot) sub.pending = [];
    this.#registry.register(sub, request.seated === true);
    // All or nothing: a subscription whose opening failed must not keep its slot, its place
    // in the index or a pending queue that grows with every matching update.
    try {
      if (!resuming && !snapshot) request.sink.open({ subscriberId: sub.id, gap: false, selectors: sources });
      else await this.#resume.replay(sub, request.lastEventId, snapshot, sources, selectors, []);
    } catch (e) {
      if (!sub.closed) {
        this.#registry.unregister(sub);
        this.#observer.onUnsubscribe?.(sub, 'error');
      }
      throw e;
    }
    this.#greetMonitor(sub);
    return sub;
  }

  /**
   * Adds selectors to a live subscription (a WebSocket `subscribe` op after the first one).
   * Selectors it already has are ignored; the rest go live at once. With `lastEventId`, the
   * history after it is replayed for the added selectors only: an update that also matches a
   * selector the subscription already had is not repeated, since the connection receives
   * those topics already. Resolves with the selectors actually added.
   *
   * `snapshot` sends the retained states of the added selectors' topics first; `throttleMs`
   * sets (or changes) the conflation interval of the whole subscription. Either switches it
   * to state mode.
   */
  async addSelectors(
    sub: Subscription,
    sources: readonly string[],
    lastEventId?: string,
    snapshot = false,
    throttleMs?: number,
    matchers: readonly MatcherSpec[] = [],
  ): Promise<string[]> {
    this.#assertOpen();
    if (sub.closed) throw new HeraldError(ErrorCode.badRequest, 'subscription is closed');
    if (sub.pending) throw new HeraldError(ErrorCode.badRequest, 'subscription is still replaying history');
    assertNotExpired(sub.principal);
    const throttle = throttleMs === undefined ? undefined : checkThrottle(throttleMs);
    // A selector is known by its text and how it is read (`topic=x` and `match=x` differ).
    const keyOf = (s: Selector): string => `${s.type} ${s.source}`;
    const have = new Set(sub.selectors.map(keyOf));
    const compiled: Selector[] = [];
    for (const s of this.compileSelectors(sources, matchers, sub.selectors)) {
      if (have.has(keyOf(s))) continue;
      have.add(keyOf(s));
      compiled.push(s);
    }
    const fresh = compiled.map((s) => s.source);
    assertMayWatchStats(sub.principal, [...sources, ...matchers.map((m) => m.match)]);
    this.#registry.assertSelectorCount(have.size);
    const prior = sub.selectors;
    this.#registry.addSelectors(sub, compiled);
    if (snapshot || throttle !== undefined) sub.stateMode = true;
    if (throttle !== undefined) {
      // A held update keeps its flush timer; the new interval counts from the next flush.
      if (sub.conflation) sub.conflation.intervalMs = throttle;
      else sub.conflation = new Conflation(throttle);
    }
    try {
      if (lastEventId === undefined && !snapshot)
        sub.sink.open({ subscriberId: sub.id, gap: false, selectors: fresh });
      else {
        sub.pending = [];
        await this.#resume.replay(sub, lastEventId, snapshot, fresh, compiled, prior);
      }
    } catch (e) {
      // The added selectors go again; what the subscription had before stays live.
      if (!sub.closed) {
        this.removeSelectors(sub, fresh);
        if (sub.pending) this.#resume.drain(sub, new Set());
      }
      throw e;
    }
    if (fresh.includes(STATS_TOPIC)) this.#greetMonitor(sub);
    return fresh;
  }

  /**
   * Removes selectors from a live subscription; unknown ones are ignored. A subscription left
   * with none stays registered (its connection may subscribe again) and receives nothing.
   * Returns the selectors actually removed.
   */
  removeSelectors(sub: Subscription, sources: readonly string[]): string[] {
    return this.#registry.removeSelectors(sub, sources);
  }

  /** Ends a subscription (client left, token expired, shutdown...). Idempotent. */
  unsubscribe(sub: Subscription, reason: CloseReason, farewell?: EncodedNotice): void {
    if (sub.closed) return;
    this.#registry.unregister(sub);
    if (reason === 'slow-consumer') {
      this.#stats.counters.slowConsumer.disconnect++;
      farewell ??= slowConsumerNotice(sub.lastSentId);
    }
    sub.sink.close(reason, farewell);
    this.#observer.onUnsubscribe?.(sub, reason);
  }

  /**
   * A sink reported `sub`'s connection over its byte budget outside a hub send (a WebSocket
   * reply): the slow-consumer policy applies as for an update.
   */
  overBudget(sub: Subscription): void {
    this.#slow.overBudget(sub);
  }

  recordRefusal(reason: string): void {
    this.#stats.recordRefusal(reason);
    this.#observer.onRefusal?.(reason);
  }

  /**
   * Reserves a connection's seat under the total and per-IP caps before it has a subscription
   * (a WebSocket, from its upgrade), or throws a 429 HeraldError. Its subscriptions are then
   * opened with `seated`, and `releaseConnection` gives the seat back when the socket closes.
   */
  admitConnection(client: ClientInfo): AdmissionTicket {
    this.#assertOpen();
    return this.#registry.admit(client);
  }

  /** Gives back a seat from `admitConnection`; a second call does nothing. */
  releaseConnection(seat: AdmissionTicket): void {
    this.#registry.release(seat);
  }

  /**
   * Connections counted by the total cap: SSE subscriptions and WebSockets (subscribed or
   * not). Returns to 0 when every connection is gone, unless a bug leaks.
   */
  get admittedCount(): number {
    return this.#registry.admitted;
  }

  subscriptions(): IterableIterator<Subscription> {
    return this.#registry.subscriptions();
  }

  get connectionCount(): number {
    return this.#registry.size;
  }

  /** Stops accepting, tells every subscriber to come back later, and closes the broker. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    for (const sub of [...this.#registry.subscriptions()]) this.unsubscribe(sub, 'shutdown');
    await this.presence?.close();
    await this.broker.close();
  }

  /** Takes a rate sample (the stats timer calls this every interval). */
  sampleRates(now = Date.now()): void {
    const node = this.#node;
    this.#stats.sample(now, node && (() => node.nodeStats(this.statsSnapshot(undefined, now)).rates));
  }

  /**
   * Node-local statistics, as shown on the dashboard. Reading them changes nothing, so any
   * number of callers may ask. `retained(topic)` supplies each topic's retained state
   * (by default the latest state this node has seen).
   */
  statsSnapshot(
    retained: (topic: string) => unknown = (t) => this.#latest.retained(t),
    now = Date.now(),
  ): HubStatsSnapshot {
    return this.#stats.snapshot(retained, now);
  }

  /** The stats of the whole node: with `--workers`, every worker's numbers merged into this one's. */
  nodeStatsSnapshot(): HubStatsSnapshot {
    const local = this.statsSnapshot();
    return this.#node ? this.#node.nodeStats(local) : local;
  }

  #heartbeat(): void {
    for (const sub of this.#registry.subscriptions()) sub.sink.heartbeat?.();
  }

  /** One snapshot, encoded once, to every admin watching the stats topic (not those replaying or behind). */
  #publishStats(): void {
    const watchers: Subscription[] = [];
    for (const sub of this.#registry.subscriptions())
      if (sub.monitor && !sub.pending && sub.dropped === undefined) watchers.push(sub);
    if (watchers.length === 0) return;
    this.#fanOut.broadcast(watchers, new EncodedNotice(HubEvent.stats, this.nodeStatsSnapshot()));
  }

  /** A monitor's first stats come at once, with the rate history, so its chart starts full. */
  #greetMonitor(sub: Subscription): void {
    if (!sub.monitor || sub.closed || sub.pending || this.#statsIntervalMs <= 0) return;
    const stats = { ...this.nodeStatsSnapshot(), history: this.#stats.history() };
    this.#fanOut.notify(sub, new EncodedNotice(HubEvent.stats, stats));
  }

  #assertOpen(): void {
    if (this.#closing) throw new HeraldError(ErrorCode.shuttingDown, 'hub is shutting down');
  }
}

/** Hub statistics are for admins: anyone else asking is told so at once (403), not left waiting. */
function assertMayWatchStats(principal: Principal, sources: readonly string[]): void {
  if (!principal.admin && sources.includes(STATS_TOPIC))
    throw new HeraldError(
      ErrorCode.forbiddenTopic,
      `${STATS_TOPIC} needs an admin token (claim herald.admin)`,
    );
}

/** A principal past its token's `exp` opens nothing (whatever verified it earlier). */
function assertNotExpired(principal: Principal): void {
  if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now())
    throw new HeraldError(ErrorCode.tokenExpired, 'token expired; reconnect with a fresh token');
}
