import { createServer, type Server } from 'node:http';
import type { NodeHandler } from './node-adapter.ts';

/** A node:http server tuned for long-lived streams, answering with `handler` (404s included). */
export function createHttpServer(handler: NodeHandler): Server {
  const server = createServer(
    { requestTimeout: 30_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 },
    (req, res) => handler(req, res),
  );
  // SSE responses never finish; the socket must not be timed out under them.
  server.timeout = 0;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && !socket.destroyed) {
      const status =
        err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(
        `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nmalformed HTTP request\n`,
      );
    } else socket.destroy();
  });
  return server;
}
