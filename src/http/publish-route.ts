import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { PublishInput } from '../protocol/update.ts';
import type { HttpContext } from './context.ts';
import { corsHeaders, isOriginAllowed } from './cors.ts';
import { parseFormPublish, parseJsonPublish } from './publish-body.ts';
import { clientIp, decodeUtf8, extractToken, readBody, requestIdOf } from './request.ts';
import { sendText } from './respond.ts';

/** POST {hub}: form-encoded Mercure publish, or the JSON extension (one update or a batch). */
export async function handlePublish(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const { token, source } = extractToken(req, url, ctx.options.cookieName);
  // A cookie is sent by the browser on its own: without an allowed Origin it could be a
  // cross-site forgery.
  if (source === 'cookie' && !isOriginAllowed(req.headers.origin, ctx.options.corsOrigins)) {
    throw new HeraldError(
      ErrorCode.forbiddenOrigin,
      'cookie-authenticated publish needs an allowed Origin header',
    );
  }
  const principal = await ctx.authorizer.authenticate(token, 'publisher');
  const contentType = (req.headers['content-type'] ?? 'application/x-www-form-urlencoded')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded' && contentType !== 'application/json') {
    throw new HeraldError(
      ErrorCode.unsupportedMediaType,
      `content type ${contentType} not supported; use application/x-www-form-urlencoded or application/json`,
    );
  }
  const body = decodeUtf8(await readBody(req, ctx.options.maxBodyBytes));
  const inputs: PublishInput[] =
    contentType === 'application/json' ? parseJsonPublish(body) : [parseFormPublish(body)];
  const stored = await ctx.hub.publish(inputs, principal, { ip: clientIp(req), requestId: requestIdOf(res) });
  sendText(res, 200, stored.map((u) => u.id).join('\n'), corsHeaders(req, ctx.options.corsOrigins));
}
