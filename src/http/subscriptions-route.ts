import { subscriptionDocs, type SubscriptionDoc } from '../hub/presence.ts';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { HttpContext } from './context.ts';
import { corsHeaders } from './cors.ts';
import type { HeraldExchange } from './exchange.ts';
import { extractToken } from './request.ts';
import { sendJson } from './respond.ts';

const CONTEXT = 'https://mercure.rocks/';

/**
 * GET {hub}/subscriptions[/{topic}[/{subscriber}]]: the active subscriptions of this node
 * (Mercure's subscriptions API). The token's subscribe claim must match the request path.
 */
export async function handleSubscriptions(ctx: HttpContext, ex: HeraldExchange): Promise<void> {
  const url = ex.url;
  if (ex.method !== 'GET')
    throw new HeraldError(ErrorCode.methodNotAllowed, 'the subscriptions API only answers GET');
  const { token } = extractToken(ex, url, ctx.options.cookieName);
  if (!token) throw new HeraldError(ErrorCode.unauthorized, 'the subscriptions API requires a JWT');
  const principal = await ctx.authorizer.authenticate(token, 'subscriber');
  if (!principal.subscribe?.matchesTopic(url.pathname))
    throw new HeraldError(
      ErrorCode.forbiddenTopic,
      `token's mercure.subscribe does not cover ${url.pathname}`,
    );

  const base = `${ctx.options.path}/subscriptions`;
  const rest = url.pathname.slice(base.length).split('/').filter(Boolean);
  if (rest.length > 2) throw new HeraldError(ErrorCode.notFound, 'no such subscriptions resource');
  let topic: string | undefined;
  let subscriber: string | undefined;
  try {
    topic = rest[0] === undefined ? undefined : decodeURIComponent(rest[0]);
    subscriber = rest[1] === undefined ? undefined : decodeURIComponent(rest[1]);
  } catch {
    throw new HeraldError(ErrorCode.badRequest, 'malformed percent-encoding in the subscriptions path');
  }

  const docs: SubscriptionDoc[] = [];
  for (const sub of ctx.hub.subscriptions()) {
    if (subscriber !== undefined && sub.id !== subscriber) continue;
    for (const doc of subscriptionDocs(ctx.options.path, sub, true))
      if (topic === undefined || doc.topic === topic) docs.push(doc);
  }
  const headers = { ...corsHeaders(ex, ctx.options.corsOrigins), ETag: JSON.stringify(ctx.hub.lastEventId) };
  if (subscriber !== undefined) {
    if (docs.length === 0) throw new HeraldError(ErrorCode.notFound, 'no such active subscription');
    sendJson(
      ex,
      200,
      { '@context': CONTEXT, ...docs[0], lastEventID: ctx.hub.lastEventId },
      { ...headers, 'Content-Type': 'application/ld+json' },
    );
    return;
  }
  sendJson(
    ex,
    200,
    {
      '@context': CONTEXT,
      id: url.pathname,
      type: 'Subscriptions',
      lastEventID: ctx.hub.lastEventId,
      subscriptions: docs,
    },
    { ...headers, 'Content-Type': 'application/ld+json' },
  );
}
