import { healthOf } from '../broker/broker.ts';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';
import type { HttpContext } from './context.ts';
import { corsHeaders, handlePreflight } from './cors.ts';
import { handleDashboard } from './dashboard-route.ts';
import type { HeraldExchange, Route } from './exchange.ts';
import { handlePublish } from './publish-route.ts';
import { handleResourceMetadata, resourceUrls } from './resource-metadata.ts';
import { sendError, sendText } from './respond.ts';
import { handleSubscribe } from './subscribe-route.ts';
import { handleSubscriptions } from './subscriptions-route.ts';

/** The one request router every adapter (node:http, Express, fetch) runs. */
export interface Router {
  /**
   * Resolves true when a hub route answered (errors included, as a status and a one-line
   * reason), false when the path is not the hub's: the standalone server then answers 404, a
   * middleware hands the request on. Never rejects.
   */
  handle(ex: HeraldExchange): Promise<boolean>;
  /** Answers with an error (counted and logged like any refusal). */
  refuse(ex: HeraldExchange, error: unknown): void;
}

export function createRouter(ctx: HttpContext, extra: Route[] = []): Router {
  const { path, basePath } = ctx.options;
  const urls = resourceUrls(ctx.options);
  return {
    async handle(ex) {
      try {
        for (const r of extra) if (await r(ex)) return true;
        return await route(ex);
      } catch (e) {
        fail(ex, e);
        return true;
      }
    },
    refuse: fail,
  };

  function fail(ex: HeraldExchange, e: unknown): void {
    // The query string is never logged: it may carry a token (`authorization=`).
    const where = { requestId: ex.requestId, method: ex.method, path: ex.url.pathname.slice(0, 200) };
    if (isHeraldError(e)) {
      ctx.hub.recordRefusal(e.code);
      ctx.logger[e.status >= 500 ? 'warn' : 'info'](
        { event: 'refused', status: e.status, code: e.code, ...where },
        e.logMessage,
      );
      // Refusals carry CORS headers too, or a cross-origin browser sees a 401/403 as a network
      // error and retries forever instead of reading the reason.
      sendError(ex, e, corsHeaders(ex, ctx.options.corsOrigins), urls.metadataUrl);
      return;
    }
    ctx.hub.recordRefusal(ErrorCode.internal);
    ctx.logger.error(
      { event: 'error', ...where, error: e instanceof Error ? e.message : String(e) },
      'unhandled error in request',
    );
    sendError(
      ex,
      new HeraldError(ErrorCode.internal, 'internal error'),
      corsHeaders(ex, ctx.options.corsOrigins),
    );
  }

  async function route(ex: HeraldExchange): Promise<boolean> {
    const p = ex.url.pathname;
    if (p === path) {
      // QUERY: a draft-08 subscribe whose matchers are in a form body.
      if (ex.method === 'GET' || ex.method === 'QUERY') await handleSubscribe(ctx, ex);
      else if (ex.method === 'POST') await handlePublish(ctx, ex);
      else if (ex.method === 'OPTIONS') handlePreflight(ex, ctx.options.corsOrigins);
      else throw methodNotAllowed(ex, 'GET, QUERY, POST, OPTIONS');
      return true;
    }
    if (p === urls.metadataPath) {
      if (ex.method !== 'GET' && ex.method !== 'HEAD') throw methodNotAllowed(ex, 'GET');
      handleResourceMetadata(ctx, ex, urls);
      return true;
    }
    if (p === `${path}/subscriptions` || p.startsWith(`${path}/subscriptions/`)) {
      await handleSubscriptions(ctx, ex);
      return true;
    }
    if (!p.startsWith(basePath)) return false;
    const rest = p.slice(basePath.length);
    if (rest === '/healthz') {
      sendText(ex, 200, 'ok\n');
      return true;
    }
    if (rest === '/readyz') {
      // Every backend a request may need: the broker, and the state store when there is one.
      const backends = [{ role: 'broker', health: healthOf(ctx.hub.broker) }];
      if (ctx.hub.state) backends.push({ role: 'state store', health: healthOf(ctx.hub.state) });
      const down = backends.find((b) => !b.health.ready);
      if (ctx.hub.closing) sendText(ex, 503, 'shutting down\n');
      else if (!down) sendText(ex, 200, `ready (${backends[0]!.health.kind})\n`);
      else {
        // The detail names the backend's address: for the logs (the backend logs the outage),
        // not for whoever polls this endpoint.
        const { role, health } = down;
        ctx.logger.debug(
          { event: 'not-ready', backend: role, kind: health.kind, detail: health.detail },
          'not ready',
        );
        sendText(ex, 503, `${role} ${health.kind} not ready\n`);
      }
      return true;
    }
    // The dashboard's assets are built for `/dashboard/`: it is only served by a hub at the root.
    if (ctx.options.dashboard && basePath === '') {
      if (p === '/dashboard' || p.startsWith('/dashboard/')) {
        if (ex.method !== 'GET' && ex.method !== 'HEAD') throw methodNotAllowed(ex, 'GET');
        handleDashboard(ctx, ex);
        return true;
      }
      if (p === '/' && ctx.options.dashboardDir) {
        ex.respond(302, { Location: '/dashboard/' });
        return true;
      }
    }
    return false;
  }
}

function methodNotAllowed(ex: HeraldExchange, allow: string): HeraldError {
  return new HeraldError(ErrorCode.methodNotAllowed, `method ${ex.method} not allowed here; use ${allow}`);
}
