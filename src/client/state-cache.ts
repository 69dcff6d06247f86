import type { JsonValue, SnapshotPayload, StatePayload } from '../protocol/state.ts';
import { topicFilter, type TopicFilter } from './topic-match.ts';

/**
 * The merged view of state topics a subscriber keeps: feed it every `onSnapshot` and `onState`
 * and read `states`. A snapshot replaces what is known for the selectors it covers (a topic
 * it leaves out has no state any more); a state event replaces its topic's state unless an
 * equal or newer version is already known.
 */
export class StateCache {
  readonly #states = new Map<string, StatePayload>();

  /** Current state per topic (a removed state is absent). */
  get states(): ReadonlyMap<string, StatePayload> {
    return this.#states;
  }

  get(topic: string): JsonValue | undefined {
    return this.#states.get(topic)?.state;
  }

  /** Applies a snapshot covering `selectors`; returns the topics whose state was set or removed. */
  applySnapshot(snapshot: SnapshotPayload, selectors: readonly string[]): string[] {
    const changed: string[] = [];
    const fresh = new Map(snapshot.states.map((s) => [s.topic, s]));
    // A truncated snapshot does not list every topic it covers: keep what it leaves out.
    if (!snapshot.truncated) {
      const covered = compileAll(selectors);
      for (const topic of this.#states.keys())
        if (!fresh.has(topic) && matchesAny(covered, topic)) {
          this.#states.delete(topic);
          changed.push(topic);
        }
    }
    // The hub's snapshot is authoritative, even over a higher version: a hub whose memory
    // store restarted counts versions from 1 again.
    for (const s of fresh.values()) {
      if (s.state === null) this.#states.delete(s.topic);
      else this.#states.set(s.topic, s);
      changed.push(s.topic);
    }
    return changed;
  }

  /** Applies one `herald.state`; false when that changed nothing (not newer than what is known). */
  applyState(s: StatePayload): boolean {
    const have = this.#states.get(s.topic);
    if (have && have.version >= s.version) return false;
    if (s.state === null) return this.#states.delete(s.topic);
    this.#states.set(s.topic, s);
    return true;
  }

  /** Forgets the topics no longer listened to (those none of `selectors` match). */
  retain(selectors: readonly string[]): void {
    const kept = compileAll(selectors);
    for (const topic of this.#states.keys()) if (!matchesAny(kept, topic)) this.#states.delete(topic);
  }
}

function compileAll(sources: readonly string[]): TopicFilter[] {
  const out: TopicFilter[] = [];
  for (const s of sources) {
    const filter = topicFilter(s);
    // A selector the hub refused never had a snapshot: nothing of it is known.
    if (filter) out.push(filter);
  }
  return out;
}

function matchesAny(filters: readonly TopicFilter[], topic: string): boolean {
  for (const matches of filters) if (matches(topic)) return true;
  return false;
}
