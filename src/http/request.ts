import { randomUUID } from 'node:crypto';
import { looksLikeAccessToken } from '../auth/jwt-authorizer.ts';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { HeaderSource } from './exchange.ts';

/** The draft-08 cookie name (RFC 6265bis `__Secure-` prefix: only ever set over HTTPS). */
export const ACCESS_TOKEN_COOKIE = '__Secure-mercure_access_token';

export interface TokenLookup {
  /** The request is in Mercure draft-08 (it carries `match*` or `last_event_id`). */
  draft08?: boolean;
  /** Name of the draft-08 cookie; default `__Secure-mercure_access_token`. */
  accessCookieName?: string;
}

/** Where a token came from; cookie-borne tokens need a CSRF check on unsafe methods. */
export type TokenSource = 'header' | 'query' | 'cookie' | 'none';

/**
 * The presented token, by Mercure's precedence: Authorization header, then the
 * `authorization` query parameter (draft-07 only), then the cookie. Both cookies are read,
 * the one of the request's dialect first. A draft-08 request, or a draft-08 access token,
 * in the URL is a 400 `invalid_request`: tokens in URLs end up in logs and histories.
 */
export function extractToken(
  req: HeaderSource,
  url: URL,
  cookieName: string,
  lookup: TokenLookup = {},
): { token?: string; source: TokenSource } {
  const header = req.header('authorization');
  if (header !== undefined) return { token: bearerToken(header), source: 'header' };
  const query = url.searchParams.get('authorization');
  if (query) {
    if (lookup.draft08 || looksLikeAccessToken(query))
      throw new HeraldError(
        ErrorCode.badRequest,
        'draft-08 requests may not carry a token in the URL; use the Authorization header or the cookie',
        { bearer: 'invalid_request' },
      );
    return { token: query, source: 'query' };
  }
  const cookies = req.header('cookie');
  const accessCookie = lookup.accessCookieName ?? ACCESS_TOKEN_COOKIE;
  const names = lookup.draft08 ? [accessCookie, cookieName] : [cookieName, accessCookie];
  for (const name of names) {
    const cookie = readCookie(cookies, name);
    if (cookie) return { token: cookie, source: 'cookie' };
  }
  return { source: 'none' };
}

// RFC 6750 section 2.1: `Bearer` (any case), one or more spaces, one b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const SCHEME = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?: |$)/;

/**
 * The token of an Authorization header. Another scheme (`Basic`…) presents no access token:
 * a 401 whose challenge has no error code (RFC 6750 section 3.1). A Bearer header that is
 * malformed (no token, two tokens, characters outside b64token) is a badly presented token:
 * 400 `invalid_request` (RFC 6750 section 3.1, Mercure draft-08 "Error Responses").
 */
function bearerToken(header: string): string {
  const m = BEARER.exec(header);
  if (m) return m[1]!;
  const scheme = SCHEME.exec(header)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== 'bearer')
    throw new HeraldError(ErrorCode.unauthorized, 'Authorization header must be "Bearer <token>"', {
      bearer: 'none',
    });
  throw new HeraldError(
    ErrorCode.badRequest,
    'malformed Authorization header: expected "Bearer" and exactly one token',
    { bearer: 'invalid_request' },
  );
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Decodes UTF-8 strictly: invalid bytes are a 400, never silently replaced. */
export function decodeUtf8(body: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new HeraldError(ErrorCode.badBody, 'body is not valid UTF-8');
  }
}

/**
 * URLSearchParams turns malformed percent-escapes and invalid UTF-8 into U+FFFD silently; a
 * selector, topic or id that is not what the client sent must be refused instead (400).
 */
export function assertFormEncodedUtf8(form: string, what: string): void {
  if (!form.includes('%')) return;
  for (const part of form.split('&')) {
    if (!part.includes('%')) continue;
    try {
      decodeURIComponent(part);
    } catch {
      throw new HeraldError(ErrorCode.badRequest, `${what} is not valid percent-encoded UTF-8`);
    }
  }
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * The request id: the caller's `X-Request-Id` when it is a plain token (so a proxy's id
 * carries through to our logs), otherwise a fresh UUID. Never echoes control characters.
 */
export function requestIdFrom(given: string | undefined): string {
  return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}
