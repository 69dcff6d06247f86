import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Serves fixed pages from memory on 127.0.0.1:0 (a second origin for browser tests). */
export async function serveStatic(
  pages: Record<string, string>,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const body = pages[req.url?.split('?')[0] ?? '/'];
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
