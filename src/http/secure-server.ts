import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { NodeHandler } from './node-adapter.ts';
import { HEAD_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from './server.ts';

/** PEM certificate chain and private key. */
export interface TlsFiles {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * An HTTPS server speaking HTTP/2 to clients that offer it (ALPN `h2`) and HTTP/1.1 to the rest
 * (and to WebSocket upgrades, which browsers make over HTTP/1.1). It has the two connection
 * sweeps a node:http server has, so a graceful stop works the same on both.
 */
export interface SecureHubServer extends Http2SecureServer {
  /** Sends GOAWAY to every HTTP/2 session (open streams finish) and closes idle HTTP/1.1 sockets. */
  closeIdleConnections(): void;
  /** Cuts every connection now. */
  closeAllConnections(): void;
}

/** Concurrent streams one HTTP/2 connection may open: every tab of a browser shares one connection. */
const MAX_STREAMS_PER_SESSION = 1000;
/**
 * nghttp2 refuses new streams once a session's buffered frames pass this (MB). SSE streams of
 * one browser share a session, each with its own byte budget (`--max-buffered`) enforced by the
 * sink, so the session's ceiling is above the node default (10 MB).
 */
const MAX_SESSION_MEMORY_MB = 64;

/** Builds the TLS server; the same handler serves HTTP/2 and HTTP/1.1 requests. */
export function createSecureHttpServer(handler: NodeHandler, tls: TlsFiles, logger: Logger): SecureHubServer {
  const server = createSecureServer(
    {
      cert: tls.cert,
      key: tls.key,
      allowHTTP1: true,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      maxSendHeaderBlockLength: 16 * 1024,
      settings: { maxConcurrentStreams: MAX_STREAMS_PER_SESSION, maxHeaderListSize: 16 * 1024 },
    },
    // The compat request/response have what the node adapter uses (headers, writeHead, end,
    // 'close', pipe); streaming differs and is handled by channelFor.
    (req: Http2ServerRequest, res: Http2ServerResponse) =>
      handler(req as unknown as IncomingMessage, res as unknown as ServerResponse),
  ) as SecureHubServer;
  // SSE streams never finish: no idle timeout on sessions or HTTP/1.1 sockets.
  server.setTimeout(0);
  // Read by node:http for the HTTP/1.1 connections this server hands to it.
  Object.assign(server, {
    keepAliveTimeout: 5_000,
    headersTimeout: HEAD_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
  });

  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    // A peer that resets the connection must not crash the process; its streams close with it.
    session.on('error', (e: Error) => logger.debug({ err: e.message }, 'http2 session error'));
  });

  // HTTP/1.1 sockets, with the number of requests in flight on each (idle = 0).
  const http1 = new Map<TLSSocket, number>();
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') return;
    http1.set(socket, 0);
    socket.on('close', () => http1.delete(socket));
  });
  server.prependListener('request', (req: Http2ServerRequest | IncomingMessage, res) => {
    if (req.httpVersionMajor === 2) return;
    const socket = req.socket as TLSSocket;
    http1.set(socket, (http1.get(socket) ?? 0) + 1);
    (res as unknown as ServerResponse).once('close', () => {
      if (http1.has(socket)) http1.set(socket, http1.get(socket)! - 1);
    });
  });
  // An upgraded socket belongs to its WebSocket from then on (the gateway closes it at shutdown)
  // and is no longer idle HTTP/1.1. Seen without adding an 'upgrade' listener: the gateway
  // answers unknown paths itself only when it is the sole listener.
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'upgrade') http1.delete((args[0] as IncomingMessage).socket as TLSSocket);
    return emit(event, ...args);
  }) as typeof server.emit;
  server.on('tlsClientError', (e: Error) => logger.debug({ err: e.message }, 'TLS handshake failed'));

  server.closeIdleConnections = () => {
    for (const session of sessions) if (!session.closed) session.close();
    for (const [socket, inFlight] of http1) if (inFlight === 0) socket.destroy();
  };
  server.closeAllConnections = () => {
    for (const session of sessions) session.destroy();
    for (const socket of http1.keys()) socket.destroy();
  };
  return server;
}
