import { createServer, type Server } from 'node:http';
import type { NodeHandler } from './node-adapter.ts';

/** A request head (request line and headers) must arrive within this (docs/production.md). */
export const HEAD_TIMEOUT_MS = 10_000;
/** A whole request, body included, must arrive within this. */
export const REQUEST_TIMEOUT_MS = 30_000;
/**
 * How often node:http checks the two timeouts above. Its default (30 s) let a half-sent head
 * live ~30 s whatever `headersTimeout` said.
 */
const TIMEOUT_CHECK_MS = 1000;

/** A node:http server tuned for long-lived streams, answering with `handler` (404s included). */
export function createHttpServer(handler: NodeHandler): Server {
  const server = createServer(
    {
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: HEAD_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => handler(req, res),
  );
  // SSE responses never finish; the socket must not be timed out under them.
  server.timeout = 0;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && !socket.destroyed) {
      const [status, reason] =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? ['431 Request Header Fields Too Large', 'malformed HTTP request']
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? ['408 Request Timeout', 'request not received in time']
            : ['400 Bad Request', 'malformed HTTP request'];
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${reason}\n`);
    } else socket.destroy();
  });
  return server;
}
