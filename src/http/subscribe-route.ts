import type { Subscription } from '../hub/subscription.ts';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { idFromHeader } from '../protocol/header-value.ts';
import { SseSink } from '../transport/sse.ts';
import type { HttpContext } from './context.ts';
import { corsHeaders } from './cors.ts';
import type { HeaderSource, HeraldExchange } from './exchange.ts';
import { assertFormEncodedUtf8, extractToken } from './request.ts';

/** Selectors of a subscribe request: Mercure 07 `topic`, and 08 `match` accepted as exact topics. */
export function requestedSelectors(url: URL): string[] {
  return [...url.searchParams.getAll('topic'), ...url.searchParams.getAll('match')];
}

/**
 * The resume cursor: the header wins over the query parameter, as the spec says. A header
 * carries the id as UTF-8 bytes (see protocol/header-value.ts).
 */
export function requestedLastEventId(req: HeaderSource, url: URL): string | undefined {
  const header = req.header('last-event-id');
  if (header !== undefined && header !== '') return idFromHeader(header);
  return (
    url.searchParams.get('lastEventID') ??
    url.searchParams.get('last_event_id') ??
    url.searchParams.get('Last-Event-ID') ??
    undefined
  );
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

/** GET {hub}?topic=...: an SSE subscription, over whatever byte channel the exchange opens. */
export async function handleSubscribe(ctx: HttpContext, ex: HeraldExchange): Promise<void> {
  if (ex.rawQuery !== '') assertFormEncodedUtf8(ex.rawQuery, 'query string');
  const { token } = extractToken(ex, ex.url, ctx.options.cookieName);
  const principal = await ctx.authorizer.authenticate(token, 'subscriber');
  const selectors = requestedSelectors(ex.url);
  ctx.hub.compileSelectors(selectors);
  const stateOptions = requestedStateOptions(ex.url);

  const holder: { sub?: Subscription; overflowed?: boolean } = {};
  const channel = ex.openStream();
  const sink = new SseSink(channel, {
    maxBufferedBytes: ctx.options.maxBufferedBytes,
    slowConsumer: ctx.options.slowConsumer,
    onDropped: (count) => ctx.hub.recordDropped(count),
    shutdownRetryMs: ctx.options.shutdownRetryMs,
    headers: corsHeaders(ex, ctx.options.corsOrigins),
    onOverflow: () => {
      if (holder.sub) ctx.hub.unsubscribe(holder.sub, 'slow-consumer');
      else holder.overflowed = true;
    },
  });
  channel.onceClosed(() => {
    if (holder.sub) ctx.hub.unsubscribe(holder.sub, 'client');
  });
  const lastEventId = requestedLastEventId(ex, ex.url);
  const sub = await ctx.hub.subscribe({
    selectors,
    principal,
    sink,
    ...stateOptions,
    client: { ip: ex.remoteAddress, requestId: ex.requestId },
    ...(lastEventId !== undefined ? { lastEventId } : {}),
  });
  holder.sub = sub;
  if (channel.closed || holder.overflowed)
    ctx.hub.unsubscribe(sub, holder.overflowed ? 'slow-consumer' : 'client');
}
