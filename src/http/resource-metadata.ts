import { MERCURE_DETAIL_TYPE } from '../auth/authorization-details.ts';
import type { HttpContext } from './context.ts';
import { corsHeaders } from './cors.ts';
import type { HeraldExchange } from './exchange.ts';
import type { HttpOptions } from './options.ts';
import { sendJson } from './respond.ts';

/** Where the hub says who it is (RFC 9728), derived from its resource identifier. */
export interface ResourceUrls {
  hubUrl: string;
  resource: string;
  /** Path the metadata is served at: `/.well-known/oauth-protected-resource{resource path}`. */
  metadataPath: string;
  /** Absolute URL of the metadata, for `resource_metadata` in challenges. */
  metadataUrl: string;
}

export function resourceUrls(options: HttpOptions): ResourceUrls {
  const hubUrl = options.hubUrl ?? `http://localhost${options.path}`;
  const resource = options.resource ?? hubUrl;
  const url = new URL(resource);
  const suffix = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  const metadataPath = `/.well-known/oauth-protected-resource${suffix}`;
  return { hubUrl, resource, metadataPath, metadataUrl: `${url.origin}${metadataPath}` };
}

/** GET {metadataPath}: the hub's OAuth 2.0 protected-resource metadata (Mercure draft-08). */
export function handleResourceMetadata(ctx: HttpContext, ex: HeraldExchange, urls: ResourceUrls): void {
  const doc: Record<string, unknown> = {
    resource: urls.resource,
    ...(ctx.options.authorizationServers?.length
      ? { authorization_servers: [...ctx.options.authorizationServers] }
      : {}),
    authorization_details_types_supported: [MERCURE_DETAIL_TYPE],
    bearer_methods_supported: ['header'],
    mercure_cookie: ctx.options.accessCookieName,
    mercure_matcher_types_supported: ['exact', 'urlpattern'],
  };
  if (ctx.options.subscriptions) doc['mercure_subscriptions'] = true;
  sendJson(ex, 200, doc, {
    ...corsHeaders(ex, ctx.options.corsOrigins),
    'Content-Type': 'application/json',
    'Cache-Control': 'max-age=300',
  });
}
