import type { ByteChannel } from '../transport/byte-channel.ts';

/** A response body: text or bytes in memory, or a file streamed from disk (dashboard assets). */
export type ReplyBody = string | Uint8Array | { readonly file: string; readonly size: number };

/** Anything that has request headers (an exchange, or a node upgrade request). */
export interface HeaderSource {
  /** The header's value (several values joined by `, `); `name` is lower case. */
  header(name: string): string | undefined;
}

/**
 * One HTTP request and its answer as the routes see it. The node:http server, the Express /
 * `(req, res)` middleware and the Web-standard `fetch` handler are thin translations to and
 * from this; no route knows which one carries it.
 */
export interface HeraldExchange extends HeaderSource {
  readonly method: string;
  /** Path as the client sent it (any mount prefix included) and query. */
  readonly url: URL;
  /** The query string as sent, without `?`; checked for bad escapes before `url.searchParams` is trusted. */
  readonly rawQuery: string;
  readonly remoteAddress: string;
  /** The caller's `X-Request-Id` when it is a plain token, otherwise a fresh one; sent back on every answer. */
  readonly requestId: string;
  /** Reads the whole body; rejects with a 413 HeraldError past `maxBytes` without buffering the excess. */
  body(maxBytes: number): Promise<Uint8Array>;
  /** True once a response head went out (or a stream was opened). */
  readonly answered: boolean;
  /** Sends a complete response. */
  respond(status: number, headers: Record<string, string>, body?: ReplyBody): void;
  /**
   * Takes the response over as a byte stream (SSE). Nothing is sent until the channel's
   * `start()`; until then `respond` may still answer with an error.
   */
  openStream(): ByteChannel;
  /** Cuts the connection: an error after the head went out has no other way to be told. */
  abort(): void;
}

/** A route: answers the exchange and returns true, or returns false to let the next one try. */
export type Route = (ex: HeraldExchange) => boolean | Promise<boolean>;
