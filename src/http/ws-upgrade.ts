import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData } from 'ws';
import type { Principal } from '../auth/principal.ts';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';
import type { HttpContext } from './context.ts';
import { isOriginAllowed } from './cors.ts';
import { clientIp, nodeHeaders } from './node-adapter.ts';
import { extractToken } from './request.ts';
import { WsCloseCode } from '../protocol/ws.ts';
import { HeraldSocket, WsConnection } from './ws-connection.ts';

/** Ms a closing handshake may take at shutdown before the socket is cut. */
const SHUTDOWN_GRACE_MS = 2000;

/** The WebSocket side of a hub: accepts upgrades on `{path}/ws` and keeps its connections alive. */
export interface WsGateway {
  readonly path: string;
  /** Open connections (subscribed or not). */
  readonly size: number;
  /**
   * Takes an HTTP upgrade (a node server's `'upgrade'` event) when its path is `{path}/ws` and
   * returns true; returns false, touching nothing, for any other path.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Listens to a server's upgrades; other paths are answered 404 unless another upgrade
   * listener (a dev server's hot reload...) is there to take them. Returns the detach function.
   */
  attach(server: Server): () => void;
  /** Closes every connection (1001, going away: "come back") and stops accepting; resolves when all are gone. */
  close(): Promise<void>;
}

/**
 * The WebSocket endpoint of one hub (`noServer`: whatever HTTP server carries it owns the
 * port). One timer pings every connection; a peer that did not answer the previous ping is cut.
 */
export function createWsGateway(ctx: HttpContext): WsGateway {
  const path = `${ctx.options.path}/ws`;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: ctx.options.maxBodyBytes,
    // Without context takeover each message is compressed on its own, so the hub compresses an
    // update once per window size and shares the frame (WsFrames), never once per socket.
    perMessageDeflate: ctx.options.wsDeflate
      ? { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: Infinity }
      : false,
    clientTracking: false,
    WebSocket: HeraldSocket,
  });
  const connections = new Set<WsConnection>();
  let closing = false;
  // The window each handshake settled on, read from the answer `ws` is about to send.
  const deflateWindows = new WeakMap<IncomingMessage, number>();
  wss.on('headers', (headers: string[], req: IncomingMessage) => {
    const bits = negotiatedWindowBits(headers);
    if (bits !== undefined) deflateWindows.set(req, bits);
  });

  let timer: ReturnType<typeof setInterval> | undefined;
  if (ctx.options.wsPingIntervalMs > 0) {
    timer = setInterval(() => {
      for (const conn of connections) {
        if (!conn.alive) {
          ctx.logger.info({ requestId: conn.requestId }, 'ws peer did not answer ping; closing');
          conn.ws.terminate();
          continue;
        }
        conn.alive = false;
        conn.ws.ping();
      }
    }, ctx.options.wsPingIntervalMs);
    timer.unref();
  }

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://hub.invalid');
    } catch {
      return false;
    }
    if (url.pathname !== path) return false;
    const requestId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
    socket.on('error', ignore);
    accept(req, socket, head, requestId, url).catch((e: unknown) => refuse(socket, e, requestId));
    return true;
  };

  const refuse = (socket: Duplex, e: unknown, requestId: string): void => {
    const error = isHeraldError(e) ? e : new HeraldError(ErrorCode.internal, 'internal error');
    if (!isHeraldError(e)) ctx.logger.error({ requestId, err: e }, 'unhandled error in ws upgrade');
    else ctx.logger.debug({ requestId, code: error.code }, error.logMessage);
    ctx.hub.recordRefusal(error.code);
    refuseUpgrade(socket, error);
  };

  async function accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    requestId: string,
    url: URL,
  ): Promise<void> {
    if (closing || ctx.hub.closing) throw new HeraldError(ErrorCode.shuttingDown, 'hub is shutting down');
    const { token, source } = extractToken(nodeHeaders(req), url, ctx.options.cookieName);
    // Browsers send cookies with cross-site WebSocket upgrades and no CORS applies: a cookie
    // is only trusted from an allowed or same origin (cross-site WebSocket hijacking).
    if (
      source === 'cookie' &&
      !isOriginAllowed(req.headers.origin, ctx.options.corsOrigins) &&
      !sameOrigin(req)
    )
      throw new HeraldError(
        ErrorCode.forbiddenOrigin,
        `cookie-authenticated WebSocket from origin ${req.headers.origin ?? '(none)'} is not allowed`,
      );
    const verified: { subscriber?: Promise<Principal>; publisher?: Promise<Principal> } = {};
    if (token !== undefined) {
      // A token given with the upgrade is checked now, so a bad one gets a plain HTTP 401.
      verified.subscriber = ctx.authorizer.authenticate(token, 'subscriber');
      verified.publisher = ctx.authorizer.authenticate(token, 'publisher');
      const [s, p] = await Promise.allSettled([verified.subscriber, verified.publisher]);
      if (s.status === 'rejected' && p.status === 'rejected') throw s.reason;
    }
    if (socket.destroyed) return;
    const ip = clientIp(req);
    // An upgraded socket holds a descriptor whether or not it ever subscribes: it takes its
    // seat under the connection caps now (429 over them), and gives it back when it closes.
    const seat = ctx.hub.admitConnection({ ip, requestId });
    let taken = false;
    try {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const sock = ws as HeraldSocket;
        taken = true;
        if (closing) {
          ctx.hub.releaseConnection(seat);
          sock.close(WsCloseCode.shutdown, 'hub is shutting down');
          return;
        }
        const bits = deflateWindows.get(req);
        const conn = new WsConnection(sock, ctx, { requestId, ip }, token, verified, seat, {
          socket,
          ...(bits !== undefined ? { deflateWindowBits: bits } : {}),
        });
        connections.add(conn);
        sock.on('message', onMessage);
        sock.on('pong', onPong);
        sock.on('close', onClose);
        sock.on('error', onError);
        ctx.logger.debug({ requestId, event: 'ws-open' }, 'websocket opened');
      });
    } finally {
      // `ws` refused the handshake itself (and answered it): no connection holds the seat.
      if (!taken) ctx.hub.releaseConnection(seat);
    }
  }

  function onClose(this: HeraldSocket): void {
    const conn = this.connection;
    if (!conn) return;
    connections.delete(conn);
    conn.onClose();
  }

  function onError(this: HeraldSocket, err: Error & { code?: string }): void {
    // `ws` closes the socket itself (1009 for oversized frames, 1007 for bad UTF-8...).
    ctx.logger.debug({ requestId: this.connection?.requestId, code: err.code }, err.message);
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') ctx.hub.recordRefusal(ErrorCode.bodyTooLarge);
  }

  const attached = new Set<() => void>();

  return {
    path,
    get size() {
      return connections.size;
    },
    handleUpgrade,
    attach(server) {
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
        if (handleUpgrade(req, socket, head) || server.listenerCount('upgrade') > 1) return;
        socket.on('error', ignore);
        const where = (req.url ?? '').split('?')[0]!.slice(0, 100);
        refuse(socket, new HeraldError(ErrorCode.notFound, `no WebSocket endpoint at ${where}`), '-');
      };
      server.on('upgrade', onUpgrade);
      const detach = (): void => {
        server.off('upgrade', onUpgrade);
        attached.delete(detach);
      };
      attached.add(detach);
      return detach;
    },
    async close() {
      closing = true;
      if (timer) clearInterval(timer);
      for (const detach of [...attached]) detach();
      if (connections.size === 0) return;
      const gone = [...connections].map(
        (conn) => new Promise<void>((resolve) => conn.ws.once('close', () => resolve())),
      );
      for (const conn of connections) conn.shutdown();
      const cut = setTimeout(() => {
        for (const conn of connections) conn.ws.terminate();
      }, SHUTDOWN_GRACE_MS);
      await Promise.all(gone);
      clearTimeout(cut);
    },
  };
}

function onMessage(this: HeraldSocket, data: RawData, isBinary: boolean): void {
  this.connection?.onMessage(data, isBinary);
}

function onPong(this: HeraldSocket): void {
  if (this.connection) this.connection.alive = true;
}

function ignore(): void {}

/**
 * The `server_max_window_bits` of an accepted permessage-deflate (15 when the answer names
 * none), or undefined when it was not accepted. zlib cannot deflate raw with an 8-bit window
 * (it uses 9), so such a socket gets uncompressed frames, which the extension allows.
 */
export function negotiatedWindowBits(responseHeaders: readonly string[]): number | undefined {
  const line = responseHeaders.find((h) => /^sec-websocket-extensions:/i.test(h));
  if (!line || !/permessage-deflate/i.test(line)) return undefined;
  const m = /server_max_window_bits=(\d+)/i.exec(line);
  const bits = m ? Number(m[1]) : 15;
  return bits >= 9 && bits <= 15 ? bits : undefined;
}

function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin || !req.headers.host) return false;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Answers a refused upgrade with a plain HTTP response and closes the socket. */
function refuseUpgrade(socket: Duplex, error: HeraldError): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${error.message.replace(/[\r\n]+/g, ' ')}\n`;
  const lines = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Herald-Error: ${error.code}`,
    'Connection: close',
  ];
  if (error.retryAfter !== undefined) lines.push(`Retry-After: ${error.retryAfter}`);
  if (error.status === 401) lines.push('WWW-Authenticate: Bearer realm="herald"');
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
