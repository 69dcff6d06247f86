import type { EncodedUpdate } from '../protocol/frames.ts';
import type { HubEventName } from '../protocol/update.ts';

/** What the hub tells a transport when a subscription becomes live. */
export interface OpenInfo {
  /** Subscriber id (unique per connection, hub-assigned). */
  subscriberId: string;
  /**
   * Only when the client asked to resume: the id of the event just before the first one the
   * hub is about to send, or `earliest` (Mercure's Last-Event-ID response header).
   */
  resumedFrom?: string;
  /** True when the requested id is not in history: updates may have been missed. */
  gap: boolean;
  /** The selectors that just went live (all of them, or those a later subscribe op added). */
  selectors?: readonly string[];
}

/** Why the hub ends a subscription; transports map it to a close frame or final event. */
export type CloseReason = 'client' | 'token-expired' | 'shutdown' | 'slow-consumer' | 'error';

/**
 * A transport's side of one subscription: turns frames into bytes on a socket. Knows nothing
 * about topics, selectors or brokers.
 */
export interface Sink {
  readonly transport: 'sse' | 'ws';
  /**
   * Called when the subscription is registered and (if resuming) history is known; again each
   * time selectors are added to it (WebSocket), before anything replayed for them.
   */
  open(info: OpenInfo): void;
  /** Writes one update. Must not block; a sink over its byte budget applies its policy. */
  send(update: EncodedUpdate): void;
  /** A hub-generated event (gap, stats...). */
  notice(type: HubEventName, data: unknown): void;
  heartbeat(): void;
  /** Ends the connection; after this no method is called again. */
  close(reason: CloseReason): void;
}
