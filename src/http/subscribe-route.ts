import type { Subscription } from '../hub/subscription.ts';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { idFromHeader } from '../protocol/header-value.ts';
import { SseSink } from '../transport/sse.ts';
import type { HttpContext } from './context.ts';
import { corsHeaders } from './cors.ts';
import type { HeaderSource, HeraldExchange } from './exchange.ts';
import { assertFormEncodedUtf8 } from '../protocol/validate.ts';
import { decodeUtf8, extractToken } from './request.ts';
import { subscribeParams, type SubscribeParams } from './subscribe-params.ts';

/**
 * The resume cursor: the header wins over the query parameter, as the spec says. A header
 * carries the id as UTF-8 bytes (see protocol/header-value.ts).
 */
export function requestedLastEventId(req: HeaderSource, params: SubscribeParams): string | undefined {
  const header = req.header('last-event-id');
  if (header !== undefined && header !== '') return idFromHeader(header);
  return params.lastEventId;
}

/**
 * The form body of a `QUERY` subscribe (draft-08: matcher lists too long for a URL). Its
 * parameters are merged with the query string's.
 */
async function queryBody(ctx: HttpContext, ex: HeraldExchange): Promise<URLSearchParams | undefined> {
  if (ex.method !== 'QUERY') return undefined;
  const contentType = (ex.header('content-type') ?? 'application/x-www-form-urlencoded')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded')
    throw new HeraldError(
      ErrorCode.unsupportedMediaType,
      `QUERY body must be application/x-www-form-urlencoded, not ${contentType.slice(0, 60)}`,
    );
  const body = decodeUtf8(await ex.body(ctx.options.maxBodyBytes));
  assertFormEncodedUtf8(body, 'QUERY body');
  return new URLSearchParams(body);
}

/**
 * Herald's state extension on a subscribe URL: `snapshot=1` (retained states first) and
 * `throttle=MS` (conflation).
 */
export function requestedStateOptions(url: URL): { snapshot?: boolean; throttleMs?: number } {
  const out: { snapshot?: boolean; throttleMs?: number } = {};
  const snapshot = url.searchParams.get('snapshot');
  if (snapshot !== null) {
    if (!['', '1', 'true', '0', 'false'].includes(snapshot))
      throw new HeraldError(ErrorCode.badRequest, 'snapshot must be 1, true, 0 or false');
    out.snapshot = snapshot === '' || snapshot === '1' || snapshot === 'true';
  }
  const throttle = url.searchParams.get('throttle');
  if (throttle !== null) {
    if (!/^\d{1,6}$/.test(throttle))
      throw new HeraldError(ErrorCode.badThrottle, 'throttle must be a whole number of milliseconds');
    out.throttleMs = Number(throttle);
  }
  return out;
}

/**
 * GET {hub}?topic=... (draft-07) or ?match=... (draft-08), or QUERY with a form body: an SSE
 * subscription, over whatever byte channel the exchange opens.
 */
export async function handleSubscribe(ctx: HttpContext, ex: HeraldExchange): Promise<void> {
  if (ex.rawQuery !== '') assertFormEncodedUtf8(ex.rawQuery, 'query string');
  const params = subscribeParams(ex.url.searchParams, await queryBody(ctx, ex));
  const { token } = extractToken(ex, ex.url, ctx.options.cookieName, {
    draft08: params.draft08,
    accessCookieName: ctx.options.accessCookieName,
  });
  const principal = await ctx.authorizer.authenticate(token, 'subscriber');
  const selectors = params.topics;
  ctx.hub.compileSelectors(selectors, params.matchers);
  const stateOptions = requestedStateOptions(ex.url);

  const holder: { sub?: Subscription } = {};
  const channel = ex.openStream();
  const sink = new SseSink(channel, {
    maxBufferedBytes: ctx.options.maxBufferedBytes,
    shutdownRetryMs: ctx.options.shutdownRetryMs,
    headers: corsHeaders(ex, ctx.options.corsOrigins),
  });
  channel.onceClosed(() => {
    if (holder.sub) ctx.hub.unsubscribe(holder.sub, 'client');
  });
  const lastEventId = requestedLastEventId(ex, params);
  const sub = await ctx.hub.subscribe({
    selectors,
    matchers: params.matchers,
    principal,
    sink,
    ...stateOptions,
    client: { ip: ex.remoteAddress, requestId: ex.requestId },
    ...(lastEventId !== undefined ? { lastEventId } : {}),
  });
  holder.sub = sub;
  // The client may have gone while history was read.
  if (channel.closed) ctx.hub.unsubscribe(sub, 'client');
}
