import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { ByteChannel } from '../transport/byte-channel.ts';
import type { WriteBatch } from '../transport/write-batch.ts';
import { channelFor } from './channel-for.ts';
import type { HeaderSource, HeraldExchange, ReplyBody } from './exchange.ts';
import { requestIdFrom } from './request.ts';
import type { Router } from './router.ts';

/** A node request as Express hands it to a middleware mounted under a prefix. */
type MountedRequest = IncomingMessage & { originalUrl?: string };

/** Headers of a node request, read the way the routes expect. */
export function nodeHeaders(req: IncomingMessage): HeaderSource {
  return { header: (name) => headerValue(req, name) };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  // node:http keeps only the first of repeated Authorization headers; a second token must be
  // seen (and refused, RFC 6750) as the fetch API shows it: the values joined.
  // (`headersDistinct` is built on first read and kept with the request: only when needed.)
  if (
    name === 'authorization' &&
    req.headers.authorization !== undefined &&
    req.headersDistinct?.['authorization']
  )
    return req.headersDistinct['authorization'].join(', ');
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function clientIp(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * A node:http (or node:http2 compat) request and response as a HeraldExchange; SSE goes to the
 * socket or the HTTP/2 stream directly.
 */
class NodeExchange implements HeraldExchange {
  readonly method: string;
  readonly url: URL;
  readonly rawQuery: string;
  readonly remoteAddress: string;
  readonly requestId: string;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #writes: WriteBatch;

  constructor(req: IncomingMessage, res: ServerResponse, target: string, url: URL, writes: WriteBatch) {
    this.#req = req;
    this.#res = res;
    this.#writes = writes;
    this.method = req.method ?? 'GET';
    this.url = url;
    const q = target.indexOf('?');
    this.rawQuery = q === -1 ? '' : target.slice(q + 1);
    this.remoteAddress = clientIp(req);
    this.requestId = requestIdFrom(headerValue(req, 'x-request-id'));
  }

  /**
   * Every answer carries X-Request-Id, passed with its head rather than set beforehand: a
   * response given only `writeHead(status, headers)` keeps no header table, which an SSE
   * stream would hold (about 450 bytes) for as long as it is open.
   */
  private withRequestId(headers: Record<string, string>): Record<string, string> {
    return { ...headers, 'X-Request-Id': this.requestId };
  }

  /** For a request the hub passes on (`next`): the application's answer carries the id too. */
  passOn(): void {
    if (!this.#res.headersSent) this.#res.setHeader('X-Request-Id', this.requestId);
  }

  header(name: string): string | undefined {
    return headerValue(this.#req, name);
  }

  get answered(): boolean {
    return this.#res.headersSent;
  }

  body(maxBytes: number): Promise<Uint8Array> {
    return readNodeBody(this.#req as MountedRequest, maxBytes);
  }

  respond(status: number, headers: Record<string, string>, body?: ReplyBody): void {
    const res = this.#res;
    // Our own copy of the head: what is added below never reaches the caller's object.
    const head = this.withRequestId(headers);
    // Answered before the body was read (a refusal): reading the rest could cost gigabytes.
    if (unreadBodyIsLarge(this.#req)) {
      head['Connection'] = 'close';
      stopReading(this.#req);
    }
    if (typeof body === 'string' || body instanceof Uint8Array) {
      // A known length: node:http sends head and body in one write, not as chunked framing
      // in five buffers (most of a single publish's time is that one system call).
      head['Content-Length'] ??= String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
      res.writeHead(status, head);
      res.end(body);
      return;
    }
    res.writeHead(status, head);
    if (body === undefined) res.end();
    else createReadStream(body.file).on('error', destroyResponse.bind(res)).pipe(res);
  }

  openStream(): ByteChannel {
    // HTTP/1.x socket, or an HTTP/2 stream when the TLS server negotiated h2.
    return channelFor(this.#req, this.#res, this.#writes, { 'X-Request-Id': this.requestId });
  }

  abort(): void {
    this.#res.destroy();
  }
}

/** Unread request body Node may drain to keep a connection alive; past it, the connection closes. */
export const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Whether the request still has body bytes to come that are not known to be few: a chunked
 * body, or a declared length over DRAIN_LIMIT_BYTES. HTTP/2 streams are left to HTTP/2 (an
 * answered stream is reset on its own, the connection goes on).
 */
function unreadBodyIsLarge(req: IncomingMessage): boolean {
  if (req.complete || req.httpVersionMajor === 2) return false;
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const declared = Number(req.headers['content-length'] ?? 0);
  return !(declared <= DRAIN_LIMIT_BYTES);
}

/** How long a refused connection's socket stays half-open for the client to read its answer. */
export const REFUSED_LINGER_MS = 2000;

/**
 * Stops taking the request's bytes. Taking the stream (a 'data' listener) keeps node:http
 * from draining it after the answer; paused, it stops reading the socket once its small
 * buffer is full. `Connection: close` then makes node:http close the socket: here, by sending
 * FIN after the answer and cutting it REFUSED_LINGER_MS later. Cut at once, the unread bytes
 * would make the kernel send RST, and a client still uploading could lose the answer.
 */
function stopReading(req: IncomingMessage): void {
  req.on('data', ignore);
  req.pause();
  req.off('data', ignore);
  (req.socket as Socket & { destroySoon?: () => void }).destroySoon = lingeringClose;
}

function lingeringClose(this: Socket): void {
  this.end();
  const cut = setTimeout(() => this.destroy(), REFUSED_LINGER_MS);
  cut.unref();
  this.once('close', () => clearTimeout(cut));
}

function ignore(): void {}

function destroyResponse(this: ServerResponse): void {
  this.destroy();
}

/** Reads a request body, refusing (413) past `maxBytes` without buffering the excess. */
function readNodeBody(req: MountedRequest, maxBytes: number): Promise<Uint8Array> {
  // A body parser mounted before the hub has read the stream already: say so rather than hang.
  if (req.readableEnded)
    return Promise.reject(
      new HeraldError(
        ErrorCode.internal,
        'the request body was already read by another middleware; mount Herald before body parsers',
      ),
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new HeraldError(ErrorCode.bodyTooLarge, `body larger than ${maxBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        // Not drained: the 413 goes out with `Connection: close` (see respond()).
        req.pause();
        reject(new HeraldError(ErrorCode.bodyTooLarge, `body larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', (e) => reject(new HeraldError(ErrorCode.badBody, `could not read body: ${e.message}`)));
    req.on('aborted', () => reject(new HeraldError(ErrorCode.badBody, 'request aborted')));
  });
}

/** `(req, res)` handler; with `next` (Express, Connect) requests that are not the hub's go on to it. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * The router as a node `(req, res[, next])` handler. The path is taken from `req.originalUrl`
 * when a framework set it (Express strips its mount prefix from `req.url`), so the hub sees
 * the public path its `path` option names.
 */
export function createNodeHandler(router: Router, writes: WriteBatch): NodeHandler {
  const serve: NodeHandler = (req, res, next) => {
    const target = (req as MountedRequest).originalUrl ?? req.url ?? '/';
    let url: URL | undefined;
    try {
      url = new URL(target, 'http://hub.invalid');
    } catch {
      url = undefined;
    }
    const ex = new NodeExchange(req, res, target, url ?? new URL('http://hub.invalid/'), writes);
    if (!url) {
      router.refuse(ex, new HeraldError(ErrorCode.badRequest, 'malformed request URL'));
      return;
    }
    void router.handle(ex).then((handled) => {
      if (handled) return;
      if (next) {
        ex.passOn();
        next();
      } else
        router.refuse(
          ex,
          new HeraldError(ErrorCode.notFound, `no route for ${ex.url.pathname.slice(0, 100)}`),
        );
    });
  };
  return (req, res, next) => inTurn(req, res, () => serve(req, res, next));
}

/** Requests pipelined behind an unfinished answer on one HTTP/1.x socket; past it, the socket is cut. */
export const MAX_PIPELINED = 16;

/** Per HTTP/1.x socket with an answer in progress: the requests pipelined behind it. */
const pipelines = new WeakMap<Socket, (() => void)[]>();

/**
 * Runs a request once every answer before it on its HTTP/1.x connection is complete, as
 * pipelining means: node:http parses and hands over pipelined requests at once, and a request
 * behind an SSE stream (an answer that never completes) would run without ever being
 * answered. Such a request now never runs; the connection ends with the stream. HTTP/2
 * streams are independent and run at once.
 */
function inTurn(req: IncomingMessage, res: ServerResponse, run: () => void): void {
  if (req.httpVersionMajor === 2) return run();
  const socket = req.socket;
  const waiting = pipelines.get(socket);
  if (waiting === undefined) {
    pipelines.set(socket, []);
    startTurn(socket, res, run);
    return;
  }
  if (waiting.length >= MAX_PIPELINED) {
    // No answer can go out before the current one: too deep a pipeline is cut, not buffered.
    socket.destroy();
    return;
  }
  waiting.push(() => startTurn(socket, res, run));
}

function startTurn(socket: Socket, res: ServerResponse, run: () => void): void {
  // A response closes once: `on` spares the `once` wrapper an open stream would hold.
  res.on('close', () => {
    const waiting = pipelines.get(socket);
    // A stream that ended closed its connection (or is closing it): what waited is dropped.
    const next = socket.destroyed || !socket.writable ? undefined : waiting?.shift();
    if (next) next();
    else pipelines.delete(socket);
  });
  run();
}
