import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A Web-standard handler as Next.js, Hono, Bun and Deno call it. */
export type WebHandler = (request: Request, info?: unknown) => Response | Promise<Response>;

export interface FetchServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * Serves a Web-standard handler on 127.0.0.1 with node:http, the way a runtime or
 * `@hono/node-server` does: Node's own `Request` in (body streamed, signal aborted when the
 * client leaves), the `Response` body pumped out with back-pressure and cancelled on disconnect.
 * `info` builds the handler's second argument (Next.js passes `{ params }`).
 */
export async function serveFetch(
  handler: WebHandler,
  info: (req: IncomingMessage) => unknown = () => undefined,
): Promise<FetchServer> {
  const server = createServer((req, res) => {
    void bridge(handler, info, req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function bridge(
  handler: WebHandler,
  info: (req: IncomingMessage) => unknown,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const request = new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers,
    signal: gone.signal,
    ...(hasBody ? { body: requestBody(req), duplex: 'half' } : {}),
  } as RequestInit);
  let response: Response;
  try {
    response = await handler(request, info(req));
  } catch (e) {
    res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`handler threw: ${String(e)}\n`);
    return;
  }
  const out: Record<string, string> = {};
  response.headers.forEach((v, k) => {
    out[k] = v;
  });
  res.writeHead(response.status, out);
  res.flushHeaders();
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.on('close', () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      if (res.destroyed) return;
    }
    res.end();
  } catch {
    res.destroy();
  }
}

/**
 * The node request body as a web stream. Not `Readable.toWeb`: on Node 20 it keeps enqueueing
 * chunks after the consumer cancelled the stream (a handler that answers before reading the
 * whole body) and throws ERR_INVALID_STATE from a 'data' listener.
 */
function requestBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk: Buffer) => {
        if (open) controller.enqueue(new Uint8Array(chunk));
      });
      req.on('end', () => {
        if (open) controller.close();
        open = false;
      });
      req.on('error', (e) => {
        if (open) controller.error(e);
        open = false;
      });
    },
    cancel() {
      open = false;
      req.resume();
    },
  });
}
