import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { ByteChannel } from '../transport/byte-channel.ts';
import { WebStreamChannel } from '../transport/web-stream-channel.ts';
import type { HeraldExchange, ReplyBody } from './exchange.ts';
import { requestIdFrom } from './request.ts';
import type { Router } from './router.ts';

/**
 * What a runtime may pass beside the request. Only `remoteAddress` is read; anything else
 * (Next.js passes `{ params }`) is ignored, so the handler can be exported as a route as is.
 */
export interface FetchInfo {
  /** The client's address, for per-IP caps and logs (the `Request` does not carry it). */
  remoteAddress?: string;
}

/** A Web-standard request handler: `Request` in, `Response` out, SSE as a streaming body. */
export type FetchHandler = (request: Request, info?: unknown) => Promise<Response>;

const NULL_BODY = new Set([101, 204, 205, 304]);

class FetchExchange implements HeraldExchange {
  readonly method: string;
  readonly url: URL;
  readonly rawQuery: string;
  readonly remoteAddress: string;
  readonly requestId: string;
  /** Settles with the answer: a plain response, or the head of a stream. */
  readonly response: Promise<Response>;
  readonly #request: Request;
  #resolve!: (r: Response) => void;
  #answered = false;
  #channel: WebStreamChannel | undefined;

  constructor(request: Request, url: URL, remoteAddress: string) {
    this.#request = request;
    this.method = request.method;
    this.url = url;
    const target = request.url.split('#')[0]!;
    const q = target.indexOf('?');
    this.rawQuery = q === -1 ? '' : target.slice(q + 1);
    this.remoteAddress = remoteAddress;
    this.requestId = requestIdFrom(request.headers.get('x-request-id') ?? undefined);
    this.response = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  header(name: string): string | undefined {
    return this.#request.headers.get(name) ?? undefined;
  }

  get answered(): boolean {
    return this.#answered;
  }

  async body(maxBytes: number): Promise<Uint8Array> {
    const declared = Number(this.#request.headers.get('content-length') ?? NaN);
    const body = this.#request.body;
    if (Number.isFinite(declared) && declared > maxBytes) {
      await body?.cancel().catch(ignore);
      throw new HeraldError(ErrorCode.bodyTooLarge, `body larger than ${maxBytes} bytes`);
    }
    if (!body) return new Uint8Array(0);
    if (this.#request.bodyUsed)
      throw new HeraldError(ErrorCode.internal, 'the request body was already read before the hub got it');
    const reader = body.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await reader.cancel().catch(ignore);
          throw new HeraldError(ErrorCode.bodyTooLarge, `body larger than ${maxBytes} bytes`);
        }
        parts.push(value);
      }
    } catch (e) {
      if (e instanceof HeraldError) throw e;
      throw new HeraldError(
        ErrorCode.badBody,
        `could not read body: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return Buffer.concat(parts);
  }

  respond(status: number, headers: Record<string, string>, body?: ReplyBody): void {
    if (this.#answered) return;
    this.#answered = true;
    let payload: BodyInit | null = null;
    if (!NULL_BODY.has(status) && body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) payload = body as BodyInit;
      else payload = Readable.toWeb(createReadStream(body.file)) as ReadableStream<Uint8Array>;
    }
    this.#resolve(new Response(payload, { status, headers: { ...headers, 'X-Request-Id': this.requestId } }));
  }

  openStream(): ByteChannel {
    const channel = new WebStreamChannel({
      onStart: (headers) => {
        this.#answered = true;
        this.#resolve(
          new Response(channel.stream, {
            status: 200,
            headers: { ...headers, 'X-Request-Id': this.requestId },
          }),
        );
      },
    });
    this.#channel = channel;
    // Runtimes that abort the request's signal when the client leaves (Deno, Bun, Next.js)
    // end the subscription at once; others cancel the body stream, which does the same.
    const signal = this.#request.signal;
    if (signal.aborted) channel.destroy();
    else signal.addEventListener('abort', () => channel.destroy(), { once: true });
    return channel;
  }

  abort(): void {
    this.#channel?.destroy();
  }

  /** The route finished without an answer (the client left before the stream started). */
  settleUnanswered(): void {
    if (!this.#answered)
      this.respond(499, { 'Content-Type': 'text/plain; charset=utf-8' }, 'client closed the request\n');
  }
}

function ignore(): void {}

/**
 * The router as a fetch handler. Paths are matched on the request URL's full path, so the
 * hub's `path` option must name the route it is mounted at (`/api/mercure` for a Next.js
 * `app/api/mercure/route.ts`).
 */
export function createFetchHandler(router: Router): FetchHandler {
  return async (request, info) => {
    const given = (info as FetchInfo | undefined)?.remoteAddress;
    const remote = typeof given === 'string' ? given : 'unknown';
    let url: URL | undefined;
    try {
      url = new URL(request.url);
    } catch {
      url = undefined;
    }
    const ex = new FetchExchange(request, url ?? new URL('http://hub.invalid/'), remote);
    if (!url) {
      router.refuse(ex, new HeraldError(ErrorCode.badRequest, 'malformed request URL'));
      return ex.response;
    }
    const done = router.handle(ex).then((handled) => {
      if (!handled)
        router.refuse(
          ex,
          new HeraldError(ErrorCode.notFound, `no route for ${ex.url.pathname.slice(0, 100)}`),
        );
      else ex.settleUnanswered();
    });
    // A stream answers as soon as its head is ready, long before the route is done.
    void done;
    return ex.response;
  };
}
