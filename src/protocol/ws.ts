/**
 * The WebSocket dialect of the hub (`{hub path}/ws`): JSON text frames in both directions.
 * Shared by the server and the client SDK; imports nothing from Node or the DOM.
 */

/** Close codes the hub uses, and what a client should do about each. */
export const WsCloseCode = {
  /** Normal closure. */
  normal: 1000,
  /** Too many bad frames or ops in flight: fix the client, do not retry blindly. */
  policy: 1008,
  /** A frame larger than the hub's limit. */
  tooBig: 1009,
  internal: 1011,
  /** The hub is restarting: reconnect and resume. */
  shutdown: 1001,
  /** The connection fell too far behind: reconnect and resume from the last id. */
  slowConsumer: 1013,
  /** The token expired: reconnect with a fresh one. */
  tokenExpired: 4001,
  /** The token was refused: reconnecting with the same one will not help. */
  unauthorized: 4401,
  /** No subscription within the deadline after the upgrade: subscribe right after connecting. */
  subscribeTimeout: 4408,
} as const;
export type WsCloseCode = (typeof WsCloseCode)[keyof typeof WsCloseCode];

/** Optional correlation value a client may put on any frame; the hub echoes it in the reply. */
export type WsRef = string | number;

export type WsClientFrame =
  | { op: 'auth'; token: string; ref?: WsRef }
  | {
      op: 'subscribe';
      /** Draft-07 selectors (exact topics, URI templates). */
      topics: string[];
      /** Draft-08 `exact` matchers. */
      match?: string[];
      /** Draft-08 `urlpattern` matchers (relative ones resolve against the hub URL). */
      match_urlpattern?: string[];
      lastEventId?: string;
      /** State topics: a `herald.snapshot` event with the retained states of these topics first. */
      snapshot?: boolean;
      /** State topics: conflation interval of the connection's subscription, in ms (1-60000). */
      throttle?: number;
      ref?: WsRef;
    }
  | { op: 'unsubscribe'; topics: string[]; match?: string[]; match_urlpattern?: string[]; ref?: WsRef }
  | {
      op: 'publish';
      topics: string[] | string;
      data?: unknown;
      id?: string;
      type?: string;
      private?: boolean;
      retry?: number;
      ref?: WsRef;
    };

/** Replies and hub events; an update is a frame without `op` (see WsUpdateFrame). */
export type WsServerMessage =
  | {
      op: 'subscribed';
      subscriber: string;
      topics: string[];
      /** Present when resuming: the id replay starts after, or `earliest`. */
      lastEventId?: string;
      gap?: boolean;
      ref?: WsRef;
    }
  | { op: 'unsubscribed'; topics: string[]; ref?: WsRef }
  | { op: 'authenticated'; ref?: WsRef }
  | { op: 'published'; id: string; ref?: WsRef }
  | { op: 'event'; type: string; data: unknown }
  | { op: 'error'; code: string; message: string; ref?: WsRef };

/** Largest close reason a WebSocket close frame can carry (125-byte payload minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `text` cut to at most 123 UTF-8 bytes, at a character boundary, so it fits a close frame
 * whatever it echoes (a claim, a selector).
 */
export function closeReason(text: string): string {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let size: number;
    let units = 1;
    if (c < 0x80) size = 1;
    else if (c < 0x800) size = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      size = 4;
      units = 2;
    } else size = 3; // BMP, or a lone surrogate (sent as U+FFFD, 3 bytes)
    if (bytes + size > MAX_CLOSE_REASON_BYTES) return text.slice(0, i);
    bytes += size;
    i += units - 1;
  }
  return text;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
