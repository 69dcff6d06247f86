import type { EncodedUpdate } from '../protocol/frames.ts';

/**
 * A subscription's conflation (`throttle`): at most one flush per interval, holding only the
 * latest update per topic in between. A flush timer exists only while something waits, so an
 * idle or slow topic costs nothing and the first update after a quiet interval goes at once.
 */
export class Conflation {
  /** A WebSocket `subscribe` op may change it on the live subscription. */
  intervalMs: number;
  /** When the last flush (or immediate send) happened. */
  last = Number.NEGATIVE_INFINITY;
  /** Latest waiting update per topic, in the order of their latest arrival. */
  readonly pending = new Map<string, EncodedUpdate>();
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** Keeps `encoded` as its topic's latest; re-inserting moves it last so flushes follow dispatch order. */
  hold(encoded: EncodedUpdate): void {
    const key = encoded.update.topics[0]!;
    this.pending.delete(key);
    this.pending.set(key, encoded);
  }
}
