import type { HeraldClientError } from './errors.ts';

/** One update as a subscriber receives it. */
export interface HeraldUpdate {
  id: string;
  /** The publisher's `type` (SSE `event:`), if any. */
  type: string | undefined;
  data: string;
  /** The update's topics; known over WebSocket only (SSE does not carry them). */
  topics: string[] | undefined;
}

/** What a transport reports about one connection attempt. Each is called on the subscriber. */
export interface TransportEvents {
  /** The hub registered the subscription (SSE: response headers; WS: the `subscribed` ack). */
  open(): void;
  update(update: HeraldUpdate): void;
  /**
   * A hub-generated event (`herald.gap`, `herald.token-expired`...). For `herald.snapshot`
   * over WebSocket, `selectors` are those the snapshot covers (the ones its `subscribed` ack
   * named); otherwise every topic of the connection.
   */
  hubEvent(type: string, data: unknown, selectors?: readonly string[]): void;
  /** The server's SSE `retry:` field, in ms. */
  retry(ms: number): void;
  /**
   * The connection is over (called at most once, never after `close()`); `error` says why
   * when it failed. `tokenExpired` asks for an immediate reconnect with a fresh token.
   */
  end(error: HeraldClientError | undefined, tokenExpired?: boolean): void;
}

export interface ConnectParams {
  /** Hub URL, e.g. `https://example.com/.well-known/mercure`. */
  hubUrl: string;
  topics: readonly string[];
  token: string | undefined;
  lastEventId: string | undefined;
  /** State extension: ask for `herald.snapshot` first (again on every connect and added topic). */
  snapshot?: boolean;
  /** State extension: conflation interval in ms. */
  throttleMs?: number;
  /**
   * `draft-08`: `topics` are sent as `match` (exact) matchers, `patterns` as `match_urlpattern`,
   * the cursor as `last_event_id`, and the token never in a URL. Default `draft-07`.
   */
  dialect?: 'draft-07' | 'draft-08';
  /** Draft-08 URL patterns (`match_urlpattern`). */
  patterns?: readonly string[];
}

export interface TransportConnection {
  readonly kind: 'sse' | 'ws';
  close(): void;
  /** WebSocket only: change topics on the live connection. */
  addTopics?(topics: readonly string[]): void;
  removeTopics?(topics: readonly string[]): void;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
