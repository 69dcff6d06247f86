import type { Update } from '../protocol/update.ts';
import type { CloseReason } from './sink.ts';
import type { Subscription } from './subscription.ts';

/**
 * What the hub reports as it works: metrics and logs plug in here, so the core needs no
 * knowledge of either. All methods are optional and must be cheap: they run on the hot path.
 */
export interface HubObserver {
  onSubscribe?(sub: Subscription): void;
  onUnsubscribe?(sub: Subscription, reason: CloseReason): void;
  onResume?(sub: Subscription, gap: boolean): void;
  onPublish?(updates: readonly Update[]): void;
  /** After one update went out: how many subscribers got it, and the publish-to-write delay. */
  onDispatch?(update: Update, deliveries: number, latencyMs: number): void;
  onRefusal?(reason: string): void;
  /** A sink dropped updates under the `drop` slow-consumer policy. */
  onDropped?(count: number): void;
}
