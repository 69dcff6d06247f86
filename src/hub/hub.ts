import { mayPublish, mayReceivePrivate, type Principal } from '../auth/principal.ts';
import { healthOf, kindOf, type Broker, type BrokerGap, type HistoryPage } from '../broker/broker.ts';
import type { StateEntry, StateStore } from '../broker/state-store.ts';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';
import { EncodedUpdate } from '../protocol/frames.ts';
import { generateId } from '../protocol/ids.ts';
import { ReservedNamespace } from '../protocol/reserved.ts';
import {
  compileSelector,
  DEFAULT_HUB_URL,
  selectorMatches,
  type MatcherSpec,
  type Selector,
} from '../protocol/selector.ts';
import { compileMatcher } from '../protocol/matchers.ts';
import type { SnapshotPayload } from '../protocol/state.ts';
import { HubEvent, STATS_TOPIC, type PublishInput, type Update } from '../protocol/update.ts';
import {
  defaultFieldLimits,
  validateLastEventId,
  validatePublishInput,
  type FieldLimits,
} from '../protocol/validate.ts';
import { checkThrottle, Conflation } from './conflation.ts';
import { isNewState, LatestStates, snapshotFor } from './state-view.ts';
import type { HubObserver } from './observer.ts';
import type { NodeView } from './node-view.ts';
import { PresenceFeed } from './presence-feed.ts';
import type { PresenceStore } from './presence-store.ts';
import type { CloseReason, OpenInfo, Sink } from './sink.ts';
import {
  ConnectionAdmission,
  PublishRateLimiter,
  unlimitedConnections,
  type AdmissionTicket,
  type ConnectionLimits,
  type PublishRateOptions,
} from './limits.ts';
import { CounterRing, RateWindow } from './rate-window.ts';
import {
  connectionStats,
  isMonitor,
  MonitorView,
  RATE_HISTORY_SECONDS,
  RateHistory,
  type HubCounters,
  type HubStatsSnapshot,
  type TopicStats,
} from './stats.ts';
import { Subscription, type ClientInfo } from './subscription.ts';
import { TopicActivity } from './topic-activity.ts';
import { TopicIndex, type PatternBudget, type PatternUsage } from './topic-index.ts';

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
  presence?: { store?: PresenceStore; intervalMs?: number; maxBatch?: number };
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

/**
 * The hub: who listens to what, fan-out of every update to the subscribers allowed to see
 * it, and the seam between history and live updates on resume. Does no I/O of its own: the
 * broker moves updates between nodes, sinks write bytes.
 */
export class Hub {
  readonly broker: Broker;
  readonly counters: HubCounters = {
    published: 0,
    delivered: 0,
    monitorDelivered: 0,
    resumes: 0,
    gaps: 0,
    brokerGaps: 0,
    refusals: {},
    slowConsumer: { disconnect: 0, drop: 0, droppedUpdates: 0 },
  };
  readonly #index: TopicIndex;
  readonly #subs = new Set<Subscription>();
  readonly #heartbeatMs: number;
  readonly #replayLimit: number;
  readonly #maxSelectors: number;
  readonly #maxTemplateExpressions: number;
  readonly #statsIntervalMs: number;
  readonly #limits: FieldLimits;
  readonly #observer: HubObserver;
  readonly #state: StateStore | undefined;
  readonly #snapshotLimit: number;
  readonly #latest: LatestStates;
  readonly #admission: ConnectionAdmission;
  readonly #node: NodeView | undefined;
  readonly #released = new WeakSet<AdmissionTicket>();
  readonly #publishRate: PublishRateLimiter;
  readonly #eventsPath: string | undefined;
  readonly #hubUrl: string;
  readonly #reserved: ReservedNamespace;
  /** Id of the last update dispatched on this node (the subscriptions API cursor). */
  lastEventId = 'earliest';
  #timers: ReturnType<typeof setInterval>[] = [];
  #closing = false;

  // Per-dispatch state, so the per-subscriber visit needs no closure.
  #stamp = 0;
  #current: EncodedUpdate | undefined;
  #currentDeliveries = 0;
  #privateDecisions: Map<string, boolean> | undefined;
  readonly #replayEncoded = new WeakMap<Update, EncodedUpdate>();
  readonly #rateWindow: RateWindow;
  readonly #publishedRing: CounterRing;
  readonly #deliveredRing: CounterRing;
  readonly #monitorDeliveredRing: CounterRing;
  readonly #history: RateHistory;
  readonly #activity: TopicActivity;
  /** Topics of subscription events (one per subscriber): left out of topic activity. */
  readonly #presencePrefix: string | undefined;
  /** Subscription events and the presence list, when `subscriptionEventsPath` is set. */
  readonly presence: PresenceFeed | undefined;

  constructor(options: HubOptions) {
    this.broker = options.broker;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#replayLimit = options.replayLimit ?? 10_000;
    this.#maxSelectors = options.maxSelectors ?? 100;
    this.#maxTemplateExpressions = options.maxTemplateExpressions ?? 0;
    this.#index = new TopicIndex(options.templateBudget);
    this.#statsIntervalMs = options.statsIntervalMs ?? 1000;
    this.#limits = options.fieldLimits ?? defaultFieldLimits;
    this.#observer = options.observer ?? {};
    this.#state = options.state;
    this.#snapshotLimit = options.snapshotLimit ?? 1000;
    this.#latest = new LatestStates(options.retainedViewBytes);
    this.#admission = new ConnectionAdmission(
      { ...unlimitedConnections, ...options.connectionLimits },
      options.node,
    );
    this.#node = options.node;
    this.#publishRate = new PublishRateLimiter(options.publishRate ?? { ratePerSecond: 0, burst: 0 });
    this.#eventsPath = options.subscriptionEventsPath;
    this.#hubUrl = options.hubUrl ?? DEFAULT_HUB_URL;
    this.#reserved = new ReservedNamespace(this.#hubUrl);
    this.#presencePrefix = this.#eventsPath === undefined ? undefined : `${this.#eventsPath}/subscriptions/`;
    const eventsPath = this.#eventsPath;
    this.presence =
      eventsPath === undefined
        ? undefined
        : new PresenceFeed({
            ...options.presence,
            eventsPath,
            // Presence is best effort: a broker hiccup must not fail the subscription itself.
            publish: (inputs) => this.broker.publish(inputs),
            announced: (s) => !s.source.startsWith(eventsPath) && !this.#reserved.contains(s.source),
            local: () => this.#subs.values(),
            onLost: (what) =>
              this.recordRefusal(what === 'events' ? 'presence-event-lost' : 'presence-store-lost'),
          });
    this.#rateWindow = new RateWindow(options.rateWindowSamples ?? 5);
    this.#publishedRing = new CounterRing(this.#rateWindow);
    this.#deliveredRing = new CounterRing(this.#rateWindow);
    this.#monitorDeliveredRing = new CounterRing(this.#rateWindow);
    this.#history = new RateHistory(RateHistory.capacityFor(RATE_HISTORY_SECONDS, this.#statsIntervalMs));
    this.#activity = new TopicActivity(this.#rateWindow, options.activeTopicsLimit ?? 200);
  }

  /** The retained-state store, when the hub has one. */
  get state(): StateStore | undefined {
    return this.#state;
  }

  async start(): Promise<void> {
    await this.broker.start(this.#dispatch, this.#brokerGap);
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
    if (this.#closing) throw new HeraldError(ErrorCode.shuttingDown, 'hub is shutting down');
    const valid = inputs.map((i) => validatePublishInput(i, this.#limits, this.#reserved));
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
    if (this.#publishRate.enabled)
      this.#publishRate.take(principal.subject ?? `ip:${client.ip ?? 'unknown'}`, valid.length);
    let prepared: PublishInput[] = valid;
    let stateError: unknown;
    if (valid.some((i) => i.stateOp !== undefined)) {
      prepared = [];
      // A change the store refuses stops the batch; the changes before it were applied, so
      // they are still published and every subscriber's view stays that of the store.
      try {
        for (const input of valid) prepared.push(await this.#applyState(input));
      } catch (e) {
        stateError = e;
      }
      if (stateError !== undefined && prepared.length === 0) throw stateError;
    }
    let stored: Update[];
    try {
      stored = await this.broker.publish(prepared);
    } catch (e) {
      if (isHeraldError(e)) throw e;
      throw unavailableError(`broker ${kindOf(this.broker)} could not store the update`, e);
    }
    // A retry's answer (the broker recognised its idempotency key) was counted the first time.
    const fresh = stored.some((u) => u.duplicate) ? stored.filter((u) => !u.duplicate) : stored;
    this.counters.published += fresh.length;
    if (fresh.length > 0) this.#observer.onPublish?.(fresh);
    if (stateError !== undefined) throw stateError;
    return stored;
  }

  async #applyState(input: PublishInput): Promise<PublishInput> {
    const { stateOp, ...rest } = input;
    if (stateOp === undefined) return input;
    if (!this.#state) throw new HeraldError(ErrorCode.badRequest, 'this hub keeps no retained state');
    let entry: StateEntry;
    try {
      entry = await this.#state.apply(rest.topics[0]!, stateOp, {
        private: rest.private,
        ...(rest.idempotencyKey !== undefined ? { idempotencyKey: rest.idempotencyKey } : {}),
      });
    } catch (e) {
      if (isHeraldError(e)) throw e;
      throw unavailableError(`state store ${this.#state.kind} could not apply the change`, e);
    }
    // `retain` keeps the publisher's data as sent; a patch publishes the merged state (the
    // store's own text when it keeps one, so the two share one string).
    const data =
      stateOp.kind === 'replace' && stateOp.value !== null
        ? rest.data
        : (entry.json ?? JSON.stringify(entry.state));
    // The store decides the visibility: a patch of a private state is private, whatever the
    // patch said, or it would republish the whole private state to everyone.
    return { ...rest, data, private: entry.private, stateVersion: entry.version };
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
    if (sources.length + matchers.length === 0)
      throw new HeraldError(
        ErrorCode.missingTopic,
        'missing "topic" (draft-07) or "match" (draft-08) parameter',
      );
    if (sources.length + matchers.length > this.#maxSelectors)
      throw new HeraldError(
        ErrorCode.tooManySelectors,
        `at most ${this.#maxSelectors} topic selectors per subscription`,
      );
    // A template some subscription already holds is taken as compiled (it was validated then).
    const compiled = [
      ...sources.map((source) => this.#index.heldTemplate(source) ?? compileSelector(source)),
      ...matchers.map((m) => compileMatcher(m, this.#hubUrl)),
    ];
    if (this.#maxTemplateExpressions > 0) {
      // Each distinct template once: its weight is what matching it costs per topic character.
      const weights = new Map<string, number>();
      for (const sel of [...kept, ...compiled])
        if (sel.kind === 'template') weights.set(sel.source, sel.matcher.weight);
      let total = 0;
      for (const w of weights.values()) total += w;
      if (total > this.#maxTemplateExpressions)
        throw new HeraldError(
          ErrorCode.tooManySelectors,
          `at most ${this.#maxTemplateExpressions} URI-template expressions per subscription (these selectors have ${total})`,
        );
    }
    return compiled;
  }

  /** What URI templates hold on this node: distinct compiled ones, their bytes, matcher steps. */
  templateUsage(): PatternUsage {
    return this.#index.usage();
  }

  /**
   * Registers a subscription and makes it live. With `lastEventId`, live updates are held back
   * while history is read, then history is sent, then the held updates minus those already
   * replayed: nothing is lost or repeated at the seam.
   */
  async subscribe(request: SubscribeRequest): Promise<Subscription> {
    if (this.#closing) throw new HeraldError(ErrorCode.shuttingDown, 'hub is shutting down');
    assertNotExpired(request.principal);
    const matchers = request.matchers ?? [];
    const selectors = this.compileSelectors(request.selectors, matchers);
    const sources = [...request.selectors, ...matchers.map((m) => m.match)];
    assertMayWatchStats(request.principal, sources);
    if (request.lastEventId !== undefined) validateLastEventId(request.lastEventId, this.#limits);
    const throttle = request.throttleMs === undefined ? undefined : checkThrottle(request.throttleMs);
    const sub = new Subscription(generateId(), request.principal, request.sink, selectors);
    sub.monitor = isMonitor(sub);
    if (request.client) sub.client = request.client;
    const snapshot = request.snapshot === true;
    sub.stateMode = snapshot || throttle !== undefined;
    if (throttle !== undefined) sub.conflation = new Conflation(throttle);
    const resuming = request.lastEventId !== undefined;
    if (resuming || snapshot) sub.pending = [];
    this.#register(sub, request.seated === true);
    // All or nothing: a subscription whose opening failed must not keep its slot, its place
    // in the index or a pending queue that grows with every matching update.
    try {
      if (!resuming && !snapshot) request.sink.open({ subscriberId: sub.id, gap: false, selectors: sources });
      else await this.#replay(sub, request.lastEventId, snapshot, sources, selectors, []);
    } catch (e) {
      if (!sub.closed) {
        this.#unregister(sub);
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
    if (this.#closing) throw new HeraldError(ErrorCode.shuttingDown, 'hub is shutting down');
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
    if (have.size > this.#maxSelectors)
      throw new HeraldError(
        ErrorCode.tooManySelectors,
        `at most ${this.#maxSelectors} topic selectors per subscription`,
      );
    const prior = sub.selectors;
    const added = this.#index.addAll(sub, compiled);
    sub.selectors = [...prior, ...added];
    sub.monitor = isMonitor(sub);
    this.#announce(sub, true, compiled);
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
        await this.#replay(sub, lastEventId, snapshot, fresh, compiled, prior);
      }
    } catch (e) {
      // The added selectors go again; what the subscription had before stays live.
      if (!sub.closed) {
        this.removeSelectors(
          sub,
          compiled.map((s) => s.source),
        );
        if (sub.pending) this.#drain(sub, new Set());
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
    sub.monitor = isMonitor(sub);
    if (!sub.closed && removed.length > 0) this.#announce(sub, false, removed);
    return removed.map((s) => s.source);
  }

  /**
   * The resume (and snapshot) seam. `sub.pending` is set, so live updates are being held: read
   * history and/or the retained states, send the snapshot, then what `replayFor` matches (and
   * `skipFor` does not), then the held updates not replayed. State updates no newer than what
   * the snapshot or the replay already gave are skipped.
   */
  async #replay(
    sub: Subscription,
    lastEventId: string | undefined,
    snapshot: boolean,
    sources: readonly string[],
    replayFor: readonly Selector[],
    skipFor: readonly Selector[],
  ): Promise<void> {
    let page: HistoryPage | undefined;
    let states: SnapshotPayload | undefined;
    try {
      [page, states] = await Promise.all([
        lastEventId === undefined ? undefined : this.broker.historyAfter(lastEventId, this.#replayLimit),
        snapshot
          ? snapshotFor(this.#state, replayFor, sub.principal, this.#snapshotLimit, this.#index.meter).catch(
              unavailable(`state (${this.#state?.kind ?? 'none'})`),
            )
          : undefined,
      ]);
    } catch (e) {
      if (skipFor.length === 0) {
        this.#unregister(sub);
        this.#observer.onUnsubscribe?.(sub, 'error');
      } else {
        this.removeSelectors(
          sub,
          replayFor.map((s) => s.source),
        );
        this.#drain(sub, new Set());
      }
      if (isHeraldError(e)) throw e;
      unavailable(`history (${kindOf(this.broker)})`)(e);
    }
    if (sub.closed) return;
    sub.stateSeen ??= new Map();
    // Resuming from a private update this subscriber may not see is answered exactly as an
    // unknown id: confirming it would tell that the id exists.
    if (page?.from?.private && !mayReceivePrivate(sub.principal, page.from.topics))
      page = { found: false, updates: [] };
    if (!page) {
      sub.sink.open({ subscriberId: sub.id, gap: false, selectors: sources });
      this.#sendSnapshot(sub, states!);
      this.#drain(sub, new Set());
      return;
    }
    // A found id whose page is missing updates (trimmed in part of a partitioned log) is a
    // gap too: the client is told, and still gets what is left.
    const gap = !page.found || page.truncated === true;
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
    if (gap)
      sub.sink.notice(HubEvent.gap, { lastEventId, reason: page.found ? 'trimmed' : 'unknown-or-expired' });
    if (states) this.#sendSnapshot(sub, states);

    const replayed = new Set<string>();
    for (const update of page.updates) {
      replayed.add(update.position);
      if (
        this.#visibleTo(sub, update, replayFor) &&
        !matchesAny(skipFor, update.topics) &&
        isNewState(sub, update, true)
      )
        this.#send(sub, this.#encodedForReplay(update));
    }
    this.#drain(sub, replayed);
  }

  /**
   * Many subscribers resuming at once (a reconnect storm) replay mostly the same updates: each
   * is encoded once while the broker keeps handing out the same object.
   */
  #encodedForReplay(update: Update): EncodedUpdate {
    let encoded = this.#replayEncoded.get(update);
    if (encoded === undefined) this.#replayEncoded.set(update, (encoded = new EncodedUpdate(update)));
    return encoded;
  }

  #sendSnapshot(sub: Subscription, states: SnapshotPayload): void {
    for (const s of states.states) sub.stateSeen!.set(s.topic, s.version);
    sub.sink.notice(HubEvent.snapshot, states);
  }

  /** Goes live: sends the updates held during a replay, minus those already replayed. */
  #drain(sub: Subscription, replayed: ReadonlySet<string>): void {
    const held = sub.pending ?? [];
    sub.pending = undefined;
    for (const encoded of held) {
      // The filter matters only when adding selectors failed: they were removed again.
      if (replayed.has(encoded.update.position) || sub.closed) continue;
      if (matchesAny(sub.selectors, encoded.update.topics) && isNewState(sub, encoded.update, true))
        this.#send(sub, encoded);
    }
    if (sub.stateSeen?.size === 0) sub.stateSeen = undefined;
  }

  /** Ends a subscription (client left, token expired, shutdown...). Idempotent. */
  unsubscribe(sub: Subscription, reason: CloseReason): void {
    if (sub.closed) return;
    this.#unregister(sub);
    if (reason === 'slow-consumer') this.counters.slowConsumer.disconnect++;
    sub.sink.close(reason);
    this.#observer.onUnsubscribe?.(sub, reason);
  }

  recordRefusal(reason: string): void {
    this.counters.refusals[reason] = (this.counters.refusals[reason] ?? 0) + 1;
    this.#observer.onRefusal?.(reason);
  }

  /**
   * A sink dropped `count` updates because its client fell behind (the `drop` slow-consumer
   * policy). They were counted as delivered when handed to the sink; they are taken back out.
   */
  recordDropped(count: number): void {
    this.counters.slowConsumer.drop++;
    this.counters.slowConsumer.droppedUpdates += count;
    this.counters.delivered -= count;
    this.#observer.onDropped?.(count);
  }

  /**
   * Reserves a connection's seat under the total and per-IP caps before it has a subscription
   * (a WebSocket, from its upgrade), or throws a 429 HeraldError. Its subscriptions are then
   * opened with `seated`, and `releaseConnection` gives the seat back when the socket closes.
   */
  admitConnection(client: ClientInfo): AdmissionTicket {
    if (this.#closing) throw new HeraldError(ErrorCode.shuttingDown, 'hub is shutting down');
    const seat: AdmissionTicket = { ip: client.ip, subject: undefined, selectors: [] };
    this.#admission.admit(seat);
    return seat;
  }

  /** Gives back a seat from `admitConnection`; a second call does nothing. */
  releaseConnection(seat: AdmissionTicket): void {
    if (this.#released.has(seat)) return;
    this.#released.add(seat);
    this.#admission.release(seat);
  }

  /**
   * Connections counted by the total cap: SSE subscriptions and WebSockets (subscribed or
   * not). Returns to 0 when every connection is gone, unless a bug leaks.
   */
  get admittedCount(): number {
    return this.#admission.total;
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
    await this.presence?.close();
    await this.broker.close();
  }

  #register(sub: Subscription, seated: boolean): void {
    const ticket: AdmissionTicket = {
      ip: sub.client.ip,
      subject: sub.principal.subject,
      selectors: [...new Set(sub.selectors.map((s) => s.source))],
      seated,
    };
    this.#admission.admit(ticket);
    try {
      sub.selectors = this.#index.addAll(sub, sub.selectors);
    } catch (e) {
      this.#admission.release(ticket);
      throw e;
    }
    sub.ticket = ticket;
    this.#subs.add(sub);
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
    this.presence?.changed(sub, active, selectors);
  }

  #unregister(sub: Subscription): void {
    if (sub.ticket) this.#admission.release(sub.ticket);
    sub.ticket = undefined;
    sub.closed = true;
    if (sub.conflation?.timer) clearTimeout(sub.conflation.timer);
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
    if (sub.monitor) this.counters.monitorDelivered++;
  }

  /** Delivers in the subscriber's form: state updates as `herald.state`, through its conflation. */
  #send(sub: Subscription, encoded: EncodedUpdate): void {
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

  // Arrow properties: created once per hub, passed to the broker and the index without
  // allocating per update or per subscriber.
  #dispatch = (update: Update): void => {
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
    const topic = update.topics[0]!;
    if (this.#presencePrefix === undefined || !topic.startsWith(this.#presencePrefix))
      this.#activity.record(topic);
    this.#index.forEachMatch(update.topics, this.#visit);
    this.#current = undefined;
    this.#observer.onDispatch?.(update, this.#currentDeliveries, Date.now() - update.publishedAt);
  };

  /** Updates were lost between the broker and this node: every subscriber may lack some. */
  #brokerGap = (gap: BrokerGap): void => {
    this.counters.brokerGaps++;
    for (const sub of this.#subs) sub.sink.notice(HubEvent.gap, { reason: gap.reason });
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
    this.#send(sub, encoded);
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

  /**
   * Takes a rate sample (the stats timer calls this every interval): rates are measured from
   * the oldest sample of the window to the moment a snapshot is taken.
   */
  sampleRates(now = Date.now()): void {
    this.#rateWindow.sample(now);
    this.#publishedRing.store(this.#rateWindow, this.counters.published);
    this.#deliveredRing.store(this.#rateWindow, this.counters.delivered);
    this.#monitorDeliveredRing.store(this.#rateWindow, this.counters.monitorDelivered);
    this.#activity.sampled();
    this.#history.record({ time: now, ...this.#rates(now) });
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
    const { connections, monitors } = connectionStats(this.#subs);
    return {
      time: now,
      broker: healthOf(this.broker),
      connections,
      totals: {
        published: this.counters.published,
        delivered: this.counters.delivered - this.counters.monitorDelivered,
      },
      rates: this.#rates(now),
      topics: this.#topicStats(retained, now, new MonitorView(monitors)),
      refusals: { ...this.counters.refusals },
    };
  }

  /** Rates over the window, deliveries to monitors left out. */
  #rates(now: number): HubStatsSnapshot['rates'] {
    const w = this.#rateWindow;
    const c = this.counters;
    const delivered = this.#deliveredRing.rate(w, c.delivered, now);
    const toMonitors = this.#monitorDeliveredRing.rate(w, c.monitorDelivered, now);
    return {
      publishedPerSec: this.#publishedRing.rate(w, c.published, now),
      deliveredPerSec: Math.max(0, delivered - toMonitors),
      windowSeconds: w.seconds(now),
    };
  }

  /**
   * Topics published to recently (with the subscriptions matching each), then the selectors
   * subscribed to that are not among them (URI templates and `*` marked as patterns).
   */
  #topicStats(retained: (topic: string) => unknown, now: number, monitors: MonitorView): TopicStats[] {
    const rows: TopicStats[] = [];
    const seen = new Set<string>();
    for (const a of this.#activity.top(now)) {
      seen.add(a.topic);
      rows.push({
        topic: a.topic,
        pattern: false,
        subscribers: this.#index.matchCount(a.topic) - monitors.matching(a.topic),
        updates: a.updates,
        updatesPerSec: a.updatesPerSec,
        retained: retained(a.topic) ?? null,
      });
    }
    // A selector only monitors use (the dashboard's own tail) is not the hub's traffic.
    const selectors = [...this.#index.counts()]
      .map(([source, n]): [string, number] => [source, n - monitors.using(source)])
      .filter(([source, n]) => n > 0 && source !== STATS_TOPIC && !seen.has(source))
      .sort((a, b) => b[1] - a[1])
      .slice(0, this.#activity.limit);
    for (const [source, subscribers] of selectors) {
      const pattern = this.#index.isPattern(source);
      rows.push({
        topic: source,
        pattern,
        subscribers,
        updates: 0,
        updatesPerSec: 0,
        retained: pattern ? null : (retained(source) ?? null),
      });
    }
    return rows;
  }

  /** The stats of the whole node: with `--workers`, every worker's numbers merged into this one's. */
  nodeStatsSnapshot(): HubStatsSnapshot {
    const local = this.statsSnapshot();
    return this.#node ? this.#node.nodeStats(local) : local;
  }

  #publishStats(): void {
    let snapshot: HubStatsSnapshot | undefined;
    for (const sub of this.#subs) {
      if (!sub.monitor || sub.pending) continue;
      snapshot ??= this.nodeStatsSnapshot();
      sub.sink.notice(HubEvent.stats, snapshot);
    }
  }

  /** A monitor's first stats come at once, with the rate history, so its chart starts full. */
  #greetMonitor(sub: Subscription): void {
    if (!sub.monitor || sub.closed || sub.pending || this.#statsIntervalMs <= 0) return;
    sub.sink.notice(HubEvent.stats, { ...this.statsSnapshot(), history: this.#history.samples() });
  }
}

function unavailable(what: string): (e: unknown) => never {
  return (e) => {
    throw unavailableError(`${what} unavailable`, e);
  };
}

/** A 503 naming the broker's kind; the cause (an address, a Redis error) goes to the logs only. */
function unavailableError(what: string, e: unknown): HeraldError {
  return new HeraldError(ErrorCode.brokerUnavailable, `${what}; retry shortly`, {
    retryAfter: 1,
    logMessage: `${what}: ${e instanceof Error ? e.message : String(e)}`,
  });
}

function flushConflation(hub: Hub, sub: Subscription): void {
  hub.flushConflation(sub);
}

function matchesAny(selectors: readonly Selector[], topics: readonly string[]): boolean {
  for (const sel of selectors) for (const t of topics) if (selectorMatches(sel, t)) return true;
  return false;
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

function expire(hub: Hub, sub: Subscription): void {
  const exp = sub.principal.expiresAt ?? 0;
  if (exp > Date.now()) {
    sub.expiryTimer = setTimeout(expire, Math.min(exp - Date.now(), 2 ** 31 - 1), hub, sub);
    sub.expiryTimer.unref();
    return;
  }
  hub.unsubscribe(sub, 'token-expired');
}
