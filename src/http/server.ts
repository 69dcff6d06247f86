import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';
import type { HttpContext } from './context.ts';
import { handlePreflight } from './cors.ts';
import { handleDashboard } from './dashboard-route.ts';
import { handlePublish } from './publish-route.ts';
import { requestIdFrom } from './request.ts';
import { sendError, sendText } from './respond.ts';
import { handleSubscribe } from './subscribe-route.ts';
import { handleSubscriptions } from './subscriptions-route.ts';

/** Extra routes mounted by other layers (metrics...) without the router knowing them. */
export type ExtraRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

/** The request handler: routes to subscribe, publish, health and the dashboard. */
export function createRequestHandler(ctx: HttpContext, extra: ExtraRoute[] = []) {
  const path = ctx.options.path;
  return (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = requestIdFrom(req);
    res.setHeader('X-Request-Id', requestId);
    route(req, res).catch((e: unknown) => {
      // The query string is never logged: it may carry a token (`authorization=`).
      const where = { requestId, method: req.method, path: (req.url ?? '').split('?')[0]!.slice(0, 200) };
      const error = isHeraldError(e) ? e : undefined;
      if (error) {
        ctx.hub.recordRefusal(error.code);
        ctx.logger[error.status >= 500 ? 'warn' : 'info'](
          { event: 'refused', status: error.status, code: error.code, ...where },
          error.message,
        );
        sendError(res, error);
        return;
      }
      ctx.hub.recordRefusal(ErrorCode.internal);
      ctx.logger.error(
        { event: 'error', ...where, error: e instanceof Error ? e.message : String(e) },
        'unhandled error in request',
      );
      sendError(res, new HeraldError(ErrorCode.internal, 'internal error'));
    });
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://hub.invalid');
    } catch {
      throw new HeraldError(ErrorCode.badRequest, 'malformed request URL');
    }
    for (const r of extra) if (await r(req, res, url)) return;
    const p = url.pathname;
    if (p === path) {
      if (req.method === 'GET') return handleSubscribe(ctx, req, res, url);
      if (req.method === 'POST') return handlePublish(ctx, req, res, url);
      if (req.method === 'OPTIONS') return handlePreflight(req, res, ctx.options.corsOrigins);
      throw methodNotAllowed(req, 'GET, POST, OPTIONS');
    }
    if (p === `${path}/subscriptions` || p.startsWith(`${path}/subscriptions/`))
      return handleSubscriptions(ctx, req, res, url);
    if (p === '/healthz') return sendText(res, 200, 'ok\n');
    if (p === '/readyz') {
      const health = ctx.hub.broker.health();
      if (ctx.hub.closing) return sendText(res, 503, 'shutting down\n');
      return health.ready
        ? sendText(res, 200, `ready (${health.kind})\n`)
        : sendText(res, 503, `broker ${health.kind} not ready${health.detail ? `: ${health.detail}` : ''}\n`);
    }
    if (p === '/dashboard' || p.startsWith('/dashboard/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req, 'GET');
      return handleDashboard(ctx, req, res, url);
    }
    if (p === '/' && ctx.options.dashboardDir) {
      res.writeHead(302, { Location: '/dashboard/' });
      res.end();
      return;
    }
    throw new HeraldError(ErrorCode.notFound, `no route for ${p.slice(0, 100)}`);
  }
}

function methodNotAllowed(req: IncomingMessage, allow: string): HeraldError {
  return new HeraldError(
    ErrorCode.methodNotAllowed,
    `method ${req.method ?? '?'} not allowed here; use ${allow}`,
  );
}

/** A node:http server tuned for long-lived streams. */
export function createHttpServer(ctx: HttpContext, extra: ExtraRoute[] = []): Server {
  const server = createServer(
    { requestTimeout: 30_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 },
    createRequestHandler(ctx, extra),
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
