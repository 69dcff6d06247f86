import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { PublishInput } from '../protocol/update.ts';
import { validateIdempotencyKey } from '../protocol/validate.ts';
import type { HttpContext } from './context.ts';
import { corsHeaders, isOriginAllowed } from './cors.ts';
import type { HeraldExchange } from './exchange.ts';
import { parseFormPublish, parseJsonPublish } from '../protocol/publish-body.ts';
import { decodeUtf8, extractToken } from './request.ts';
import { sendText } from './respond.ts';

/** POST {hub}: form-encoded Mercure publish, or the JSON extension (one update or a batch). */
export async function handlePublish(ctx: HttpContext, ex: HeraldExchange): Promise<void> {
  const { token, source } = extractToken(ex, ex.url, ctx.options.cookieName);
  // A cookie is sent by the browser on its own: without an allowed Origin it could be a
  // cross-site forgery.
  if (source === 'cookie' && !isOriginAllowed(ex.header('origin'), ctx.options.corsOrigins)) {
    throw new HeraldError(
      ErrorCode.forbiddenOrigin,
      'cookie-authenticated publish needs an allowed Origin header',
    );
  }
  const principal = await ctx.authorizer.authenticate(token, 'publisher');
  const contentType = (ex.header('content-type') ?? 'application/x-www-form-urlencoded')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded' && contentType !== 'application/json') {
    throw new HeraldError(
      ErrorCode.unsupportedMediaType,
      `content type ${contentType} not supported; use application/x-www-form-urlencoded or application/json`,
    );
  }
  const body = decodeUtf8(await ex.body(ctx.options.maxBodyBytes));
  const inputs: PublishInput[] =
    contentType === 'application/json' ? parseJsonPublish(body) : [parseFormPublish(body)];
  // The key that makes a retry safe (the hub answers it with the first publish's ids): the
  // Idempotency-Key header (`<key>` for the first update of a batch, `<key>#<n>` after), else
  // the update's own id.
  const key = ex.header('idempotency-key');
  if (key !== undefined) validateIdempotencyKey(key);
  inputs.forEach((input, i) => {
    const k = key === undefined ? input.id : i === 0 ? key : `${key}#${i}`;
    if (k !== undefined) input.idempotencyKey = k;
  });
  const stored = await ctx.hub.publish(inputs, principal, { ip: ex.remoteAddress, requestId: ex.requestId });
  sendText(ex, 200, stored.map((u) => u.id).join('\n'), corsHeaders(ex, ctx.options.corsOrigins));
}
