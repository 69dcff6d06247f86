import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Subscription } from '../hub/subscription.ts';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { HttpContext } from './context.ts';
import { corsHeaders } from './cors.ts';
import { assertFormEncodedUtf8, clientIp, extractToken, requestIdOf } from './request.ts';
import { Http1Channel } from '../transport/http1-channel.ts';
import { SseSink } from '../transport/sse.ts';

/** Selectors of a subscribe request: Mercure 07 `topic`, and 08 `match` accepted as exact topics. */
export function requestedSelectors(url: URL): string[] {
  return [...url.searchParams.getAll('topic'), ...url.searchParams.getAll('match')];
}

/** The resume cursor: the header wins over the query parameter, as the spec says. */
export function requestedLastEventId(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') return header;
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

/** GET {hub}?topic=...: an SSE subscription. */
export async function handleSubscribe(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const rawUrl = req.url ?? '';
  if (rawUrl.includes('?')) assertFormEncodedUtf8(rawUrl.slice(rawUrl.indexOf('?') + 1), 'query string');
  const { token } = extractToken(req, url, ctx.options.cookieName);
  const principal = await ctx.authorizer.authenticate(token, 'subscriber');
  const selectors = requestedSelectors(url);
  ctx.hub.compileSelectors(selectors);
  const stateOptions = requestedStateOptions(url);

  const holder: { sub?: Subscription; overflowed?: boolean } = {};
  const sink = new SseSink(new Http1Channel(res), {
    maxBufferedBytes: ctx.options.maxBufferedBytes,
    slowConsumer: ctx.options.slowConsumer,
    onDropped: (count) => ctx.hub.recordDropped(count),
    shutdownRetryMs: ctx.options.shutdownRetryMs,
    headers: corsHeaders(req, ctx.options.corsOrigins),
    onOverflow: () => {
      if (holder.sub) ctx.hub.unsubscribe(holder.sub, 'slow-consumer');
      else holder.overflowed = true;
    },
  });
  const onGone = (): void => {
    if (holder.sub) ctx.hub.unsubscribe(holder.sub, 'client');
  };
  res.on('close', onGone);
  const lastEventId = requestedLastEventId(req, url);
  const sub = await ctx.hub.subscribe({
    selectors,
    principal,
    sink,
    ...stateOptions,
    client: { ip: clientIp(req), requestId: requestIdOf(res) },
    ...(lastEventId !== undefined ? { lastEventId } : {}),
  });
  holder.sub = sub;
  if (res.destroyed || holder.overflowed)
    ctx.hub.unsubscribe(sub, holder.overflowed ? 'slow-consumer' : 'client');
}
