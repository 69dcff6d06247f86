import type { EncodedNotice, EncodedUpdate } from '../protocol/frames.ts';

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
 * A transport's side of one subscription: puts bytes on one connection. Knows nothing about
 * topics, selectors, brokers or what to do with a slow client.
 *
 * The contract:
 * - Bytes come prebuilt. `send` and `notice` get objects that own their bytes per wire format
 *   (`EncodedUpdate`, `EncodedNotice`), built at most once however many sinks receive them.
 *   A sink writes those bytes as they are (it may wrap them in its framing, like an HTTP chunk)
 *   and never changes them: the same bytes go to every socket, so a transport may also build
 *   one frame per update and share it across its sockets.
 * - A write never blocks and never throws; it may be held and leave later in the event-loop
 *   turn (the server's write batch groups all writes of one turn into one socket write each).
 *   Held bytes count as queued.
 * - Back-pressure is reported, not handled: `send` and `notice` return false when, after this
 *   write, the connection's queued bytes (held ones included) are over its budget. The write
 *   was still queued. The hub's slow-consumer policy (hub/slow-consumer.ts) decides what
 *   follows; a sink never drops, closes or calls back into the hub on its own.
 * - After `close` no method is called again, and every method is a no-op on a closed sink.
 */
export interface Sink {
  readonly transport: 'sse' | 'ws';
  /**
   * Called when the subscription is registered and (if resuming) history is known; again each
   * time selectors are added to it (WebSocket), before anything replayed for them.
   */
  open(info: OpenInfo): void;
  /** Writes one update. Returns false when the connection is over its byte budget. */
  send(update: EncodedUpdate): boolean;
  /** Writes a hub-generated event (gap, stats...). Returns false when over budget, as `send`. */
  notice(notice: EncodedNotice): boolean;
  /**
   * Calls `fn` once, when the bytes queued for this connection have drained after a write was
   * reported over budget. Optional: without it the hub cannot wait for a slow client, and
   * disconnects it whatever the policy.
   */
  onceDrained?(fn: () => void): void;
  /** Keep-alive tick from the hub's shared timer, for transports whose keep-alive is in-band (SSE comments). */
  heartbeat?(): void;
  /**
   * Ends the connection. `farewell` is the event that tells the client why (for
   * `slow-consumer`, where to resume from); without it the sink says what `reason` means.
   */
  close(reason: CloseReason, farewell?: EncodedNotice): void;
}
