/**
 * The resume seam: a subscription that asks for history (`Last-Event-ID`) or for the retained
 * states (`snapshot`) has its live updates held in `sub.pending` while both are read; then it
 * gets the snapshot, the history its selectors match, and the held updates not already
 * replayed. Nothing is lost or repeated at the seam, and state updates no newer than what the
 * snapshot or replay gave are skipped.
 */
import { mayReceivePrivate } from '../auth/principal.ts';
import { kindOf, type Broker, type HistoryPage } from '../broker/broker.ts';
import type { StateStore } from '../broker/state-store.ts';
import { isHeraldError } from '../protocol/errors.ts';
import { EncodedNotice, EncodedUpdate } from '../protocol/frames.ts';
import type { Selector } from '../protocol/selector.ts';
import type { SnapshotPayload } from '../protocol/state.ts';
import { HubEvent, type Update } from '../protocol/update.ts';
import { matchesAny, visibleTo, type FanOut } from './fan-out.ts';
import type { HubObserver } from './observer.ts';
import type { Registry } from './registry.ts';
import type { OpenInfo } from './sink.ts';
import { isNewState, snapshotFor } from './state-view.ts';
import type { HubStatistics } from './stats.ts';
import type { Subscription } from './subscription.ts';
import { unavailable } from './unavailable.ts';

export interface ResumeOptions {
  broker: Broker;
  state: StateStore | undefined;
  registry: Registry;
  fanOut: FanOut;
  stats: HubStatistics;
  observer: HubObserver;
  /** Most updates replayed on one resume. */
  replayLimit: number;
  /** Most topics in one snapshot. */
  snapshotLimit: number;
}

export class ResumeSeam {
  readonly #o: ResumeOptions;
  readonly #replayEncoded = new WeakMap<Update, EncodedUpdate>();

  constructor(options: ResumeOptions) {
    this.#o = options;
  }

  /**
   * `sub.pending` is set, so live updates are being held: read history and/or the retained
   * states, send the snapshot, then what `replayFor` matches (and `skipFor` does not), then
   * the held updates not replayed. On failure the subscription (or, when `skipFor` is not
   * empty, the selectors being added) is taken back out, and the error thrown as a 503.
   */
  async replay(
    sub: Subscription,
    lastEventId: string | undefined,
    snapshot: boolean,
    sources: readonly string[],
    replayFor: readonly Selector[],
    skipFor: readonly Selector[],
  ): Promise<void> {
    const { broker, state, registry, fanOut, stats, observer } = this.#o;
    let page: HistoryPage | undefined;
    let states: SnapshotPayload | undefined;
    try {
      [page, states] = await Promise.all([
        lastEventId === undefined ? undefined : broker.historyAfter(lastEventId, this.#o.replayLimit),
        snapshot
          ? snapshotFor(state, replayFor, sub.principal, this.#o.snapshotLimit, registry.index.meter).catch(
              unavailable(`state (${state?.kind ?? 'none'})`),
            )
          : undefined,
      ]);
    } catch (e) {
      if (skipFor.length === 0) {
        registry.unregister(sub);
        observer.onUnsubscribe?.(sub, 'error');
      } else {
        registry.removeSelectors(
          sub,
          replayFor.map((s) => s.source),
        );
        this.drain(sub, new Set());
      }
      if (isHeraldError(e)) throw e;
      unavailable(`history (${kindOf(broker)})`)(e);
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
      this.drain(sub, new Set());
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
    stats.counters.resumes++;
    if (gap) stats.counters.gaps++;
    observer.onResume?.(sub, gap);
    sub.sink.open(info);
    if (gap)
      fanOut.notify(
        sub,
        new EncodedNotice(HubEvent.gap, {
          lastEventId,
          reason: page.found ? 'trimmed' : 'unknown-or-expired',
        }),
      );
    if (states) this.#sendSnapshot(sub, states);

    const replayed = new Set<string>();
    for (const update of page.updates) {
      replayed.add(update.position);
      if (
        visibleTo(sub, update, replayFor) &&
        !matchesAny(skipFor, update.topics) &&
        isNewState(sub, update, true)
      )
        fanOut.send(sub, this.#encodedForReplay(update));
    }
    this.drain(sub, replayed);
  }

  /** Goes live: sends the updates held during a replay, minus those already replayed. */
  drain(sub: Subscription, replayed: ReadonlySet<string>): void {
    const held = sub.pending ?? [];
    sub.pending = undefined;
    for (const encoded of held) {
      // The filter matters only when adding selectors failed: they were removed again.
      if (replayed.has(encoded.update.position) || sub.closed) continue;
      if (matchesAny(sub.selectors, encoded.update.topics) && isNewState(sub, encoded.update, true))
        this.#o.fanOut.send(sub, encoded);
    }
    if (sub.stateSeen?.size === 0) sub.stateSeen = undefined;
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
    this.#o.fanOut.notify(sub, new EncodedNotice(HubEvent.snapshot, states));
  }
}
