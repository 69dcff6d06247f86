import { mayReceivePrivate, type Principal } from '../auth/principal.ts';
import { heldTextBytes, type StateEntry, type StateStore } from '../broker/state-store.ts';
import type { EncodedUpdate } from '../protocol/frames.ts';
import type { MatchMeter } from '../protocol/matcher.ts';
import type { Selector } from '../protocol/selector.ts';
import type { SnapshotPayload, StatePayload } from '../protocol/state.ts';
import type { Update } from '../protocol/update.ts';
import type { Subscription } from './subscription.ts';

/** Most state topics whose latest version a node tracks. */
const MAX_TRACKED_STATES = 100_000;

/**
 * Latest state update dispatched per topic on this node. Drops older ones that arrive late
 * (two publishers' changes can reach the broker in the other order than the store applied
 * them) and gives the dashboard each topic's current state.
 *
 * Only the data text is kept (with the in-memory store, the very string the store holds), and
 * at most `maxBytes` of it: past that, a topic's version is still tracked but the dashboard
 * shows no state for it. The encoded frames of an update are never kept here.
 */
export class LatestStates {
  readonly #latest = new Map<string, { version: number; data: string | undefined }>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes = 128 * 1024 * 1024) {
    this.#maxBytes = maxBytes;
  }

  /** Records a dispatched state update; false when a newer state of its topic already went out. */
  note(encoded: EncodedUpdate): boolean {
    const u = encoded.update;
    const topic = u.topics[0]!;
    const prev = this.#latest.get(topic);
    if (prev && prev.version >= u.stateVersion!) return false;
    if (this.#latest.size >= MAX_TRACKED_STATES && !prev) this.#forgetRemoved();
    if (prev?.data !== undefined) this.#bytes -= heldTextBytes(prev.data);
    let data: string | undefined = u.data === 'null' ? undefined : u.data;
    const cost = data === undefined ? 0 : heldTextBytes(data);
    if (this.#bytes + cost > this.#maxBytes) data = undefined;
    else this.#bytes += cost;
    this.#latest.set(topic, { version: u.stateVersion!, data });
    return true;
  }

  // Removed states are remembered (version only) so a late older change cannot revive them;
  // past the cap the oldest such marks go.
  #forgetRemoved(): void {
    for (const [topic, v] of this.#latest) {
      if (this.#latest.size < MAX_TRACKED_STATES / 2) return;
      if (v.data === undefined) this.#latest.delete(topic);
    }
  }

  /** The latest retained state this node has seen for a topic (the dashboard's view). */
  retained(topic: string): unknown {
    const data = this.#latest.get(topic)?.data;
    if (data === undefined) return null;
    try {
      return JSON.parse(data);
    } catch {
      return data;
    }
  }
}

/**
 * Matcher steps one snapshot may spend scanning retained states for its URI templates (about
 * a tenth of a second of CPU): past it the snapshot stops there and says it is truncated, so
 * no subscriber's templates can make a subscribe cost more, however many states are retained.
 */
export const SNAPSHOT_MATCH_STEPS = 20_000_000;

/** The retained states a new subscriber may see: exact selectors are looked up, others scan. */
export async function snapshotFor(
  store: StateStore | undefined,
  selectors: readonly Selector[],
  principal: Principal,
  limit: number,
  meter: MatchMeter = { steps: 0 },
): Promise<SnapshotPayload> {
  if (!store) return { states: [], truncated: false };
  const found = new Map<string, StateEntry>();
  let truncated = false;
  const exact = selectors.filter((s) => s.kind === 'exact');
  for (const e of await Promise.all(exact.map((s) => store.get(s.source)))) if (e) found.set(e.topic, e);
  if (exact.length < selectors.length) {
    const budget = meter.steps + SNAPSHOT_MATCH_STEPS;
    for (const e of await store.list(Number.MAX_SAFE_INTEGER)) {
      if (found.has(e.topic)) continue;
      if (meter.steps > budget) {
        truncated = true;
        break;
      }
      for (const sel of selectors) {
        if (sel.kind === 'exact') continue;
        if (sel.kind === 'all' || sel.source === e.topic || sel.matcher.match(e.topic, meter)) {
          found.set(e.topic, e);
          break;
        }
      }
    }
  }
  const states: StatePayload[] = [];
  for (const e of found.values()) {
    if (e.private && !mayReceivePrivate(principal, [e.topic])) continue;
    if (states.length >= limit) {
      truncated = true;
      break;
    }
    states.push({ topic: e.topic, state: e.state, version: e.version });
  }
  return { states, truncated };
}

/**
 * For state-mode subscribers that got a snapshot or a replay: false for a state update no
 * newer than what they already have. While joining (`joining`) each delivered version is
 * remembered; once live, a topic's entry goes at its first newer update, because a node
 * dispatches each topic's states in increasing order from then on.
 */
export function isNewState(sub: Subscription, update: Update, joining: boolean): boolean {
  const seen = sub.stateSeen;
  if (!seen || !sub.stateMode || update.stateVersion === undefined) return true;
  const topic = update.topics[0]!;
  const have = seen.get(topic);
  if (have !== undefined && have >= update.stateVersion) return false;
  if (joining) seen.set(topic, update.stateVersion);
  else if (have !== undefined && seen.delete(topic) && seen.size === 0) sub.stateSeen = undefined;
  return true;
}
