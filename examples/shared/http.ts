// Small node:http helpers the example apps share. Nothing here is about real time: it is the
// boilerplate any app server has (JSON answers, form bodies, cookies, listening).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Files every example page uses: its tab icon and the controls' shared look. */
const shared: Record<string, { type: string; body: Buffer }> = {
  '/favicon.ico': { type: 'image/svg+xml', body: readFileSync(new URL('favicon.svg', import.meta.url)) },
  '/favicon.svg': { type: 'image/svg+xml', body: readFileSync(new URL('favicon.svg', import.meta.url)) },
  '/examples.css': {
    type: 'text/css; charset=utf-8',
    body: readFileSync(new URL('page.css', import.meta.url)),
  },
};

/** An error an app route answers with: a status and a one-line reason. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

export function sendHtml(res: ServerResponse, html: string): void {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

/** Reads a small form-encoded or JSON body (at most 16 KiB) as string fields. */
export async function readFields(req: IncomingMessage): Promise<Record<string, string>> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 16 * 1024) throw new AppError(413, 'body larger than 16 KiB');
  }
  if (!body) return {};
  if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new AppError(400, 'body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new AppError(400, 'body must be a JSON object');
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(body));
}

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/**
 * Starts a node:http server on 127.0.0.1; an AppError thrown by the handler becomes `{ error }`.
 * GET /favicon.svg (and /favicon.ico) and /examples.css are answered here for every example.
 */
export async function listen(port: number, handler: Handler): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const file = req.method === 'GET' ? shared[req.url ?? ''] : undefined;
    if (file) {
      res.writeHead(200, { 'Content-Type': file.type, 'Cache-Control': 'max-age=3600' });
      return void res.end(file.body);
    }
    Promise.resolve()
      .then(() => handler(req, res, new URL(`http://app.invalid${req.url ?? '/'}`)))
      .catch((e: unknown) => {
        if (res.headersSent) return void res.end();
        if (e instanceof TypeError && (e as { code?: string }).code === 'ERR_INVALID_URL')
          e = new AppError(400, 'malformed URL');
        if (e instanceof AppError) sendJson(res, e.status, { error: e.message });
        else {
          console.error(e);
          sendJson(res, 500, { error: 'internal error' });
        }
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
