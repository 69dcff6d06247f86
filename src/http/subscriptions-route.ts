import { looksLikeAccessToken } from '../auth/jwt-authorizer.ts';
import {
  docAs07,
  docAs08,
  subscriptionDocs,
  subscriptionDocs08,
  type SubscriptionDoc,
  type SubscriptionDoc08,
} from '../hub/presence.ts';
import type { PresenceDoc } from '../hub/presence-store.ts';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { HttpContext } from './context.ts';
import { corsHeaders } from './cors.ts';
import type { HeraldExchange } from './exchange.ts';
import { extractToken } from './request.ts';
import { resourceUrls } from './resource-metadata.ts';
import { sendJson } from './respond.ts';

const CONTEXT = 'https://mercure.rocks/';

function decodeParts(parts: string[]): string[] {
  try {
    return parts.map(decodeURIComponent);
  } catch {
    throw new HeraldError(ErrorCode.badRequest, 'malformed percent-encoding in the subscriptions path');
  }
}

/**
 * GET {hub}/subscriptions[...]: the active subscriptions of every node (Mercure's
 * subscriptions API; other nodes' come from the presence store when there is one). The
 * token's subscribe grant must match the request path. It answers in
 * the dialect of the token: a draft-08 access token gets `/subscriptions/{match_type}/{match}
 * /{subscriber}` in plain JSON with the cursor in a `Link` header; a draft-07 token gets
 * `/subscriptions/{topic}/{subscriber}` in JSON-LD. Each lists the subscriptions of both
 * dialects that its shape can describe (presence.ts): a URI template has no draft-08 form,
 * a URL pattern (or an exact matcher with a brace) no draft-07 one.
 */
export async function handleSubscriptions(ctx: HttpContext, ex: HeraldExchange): Promise<void> {
  const url = ex.url;
  if (ex.method !== 'GET')
    throw new HeraldError(ErrorCode.methodNotAllowed, 'the subscriptions API only answers GET');
  const { token } = extractToken(ex, url, ctx.options.cookieName, {
    accessCookieName: ctx.options.accessCookieName,
  });
  if (!token)
    throw new HeraldError(ErrorCode.unauthorized, 'the subscriptions API requires a JWT', { bearer: 'none' });
  const principal = await ctx.authorizer.authenticate(token, 'subscriber');
  if (!principal.subscribe?.matchesTopic(url.pathname))
    throw new HeraldError(ErrorCode.forbiddenTopic, `token's subscribe grant does not cover ${url.pathname}`);

  const base = `${ctx.options.path}/subscriptions`;
  const rest = url.pathname.slice(base.length).split('/').filter(Boolean);
  const headers = corsHeaders(ex, ctx.options.corsOrigins);
  const all = await presenceDocs(ctx);
  if (principal.dialect === 'draft-08' || looksLikeAccessToken(token))
    return answer08(ctx, ex, rest, headers, all);

  if (rest.length > 2) throw new HeraldError(ErrorCode.notFound, 'no such subscriptions resource');
  const [topic, subscriber] = decodeParts(rest);
  const docs: SubscriptionDoc[] = [];
  for (const found of all) {
    const doc = docAs07(ctx.options.path, found);
    if (doc === undefined || (subscriber !== undefined && doc.subscriber !== subscriber)) continue;
    if (topic === undefined || doc.topic === topic) docs.push(doc);
  }
  const headers07 = { ...headers, ETag: JSON.stringify(ctx.hub.lastEventId) };
  if (subscriber !== undefined) {
    if (docs.length === 0) throw new HeraldError(ErrorCode.notFound, 'no such active subscription');
    sendJson(
      ex,
      200,
      { '@context': CONTEXT, ...docs[0], lastEventID: ctx.hub.lastEventId },
      { ...headers07, 'Content-Type': 'application/ld+json' },
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
    { ...headers07, 'Content-Type': 'application/ld+json' },
  );
}

/** Every node's subscription documents (this node's alone without `--subscriptions`). */
async function presenceDocs(ctx: HttpContext): Promise<PresenceDoc[]> {
  if (ctx.hub.presence) return ctx.hub.presence.list();
  const out: PresenceDoc[] = [];
  for (const sub of ctx.hub.subscriptions())
    out.push(
      ...subscriptionDocs(ctx.options.path, sub, true),
      ...subscriptionDocs08(ctx.options.path, sub, true),
    );
  return out;
}

function answer08(
  ctx: HttpContext,
  ex: HeraldExchange,
  rest: string[],
  cors: Record<string, string>,
  all: readonly PresenceDoc[],
): void {
  if (rest.length > 3 || (rest[0] !== undefined && rest[0] !== 'exact' && rest[0] !== 'urlpattern'))
    throw new HeraldError(
      ErrorCode.notFound,
      'no such subscriptions resource (matcher types: exact, urlpattern)',
    );
  const [matchType, match, subscriber] = decodeParts(rest);
  const docs: SubscriptionDoc08[] = [];
  for (const found of all) {
    const doc = docAs08(ctx.options.path, found);
    if (doc === undefined || (subscriber !== undefined && doc.subscriber !== subscriber)) continue;
    if (
      (matchType === undefined || doc.match_type === matchType) &&
      (match === undefined || doc.match === match)
    )
      docs.push(doc);
  }
  const cursor = ctx.hub.lastEventId;
  const headers = {
    ...cors,
    'Content-Type': 'application/json',
    ETag: JSON.stringify(cursor),
    Link: `<${resourceUrls(ctx.options).hubUrl}>; rel="mercure"; last-event-id=${JSON.stringify(cursor)}; type="mercure"; content-type="application/json"`,
  };
  if (subscriber !== undefined) {
    if (docs.length === 0) throw new HeraldError(ErrorCode.notFound, 'no such active subscription');
    sendJson(ex, 200, docs[0], headers);
    return;
  }
  sendJson(ex, 200, { id: ex.url.pathname, type: 'subscriptions', subscriptions: docs }, headers);
}
