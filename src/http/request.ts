import { randomUUID } from 'node:crypto';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { HeaderSource } from './exchange.ts';

/** Where a token came from; cookie-borne tokens need a CSRF check on unsafe methods. */
export type TokenSource = 'header' | 'query' | 'cookie' | 'none';

/**
 * The presented token, by Mercure's precedence: Authorization header, then the
 * `authorization` query parameter, then the cookie.
 */
export function extractToken(
  req: HeaderSource,
  url: URL,
  cookieName: string,
): { token?: string; source: TokenSource } {
  const header = req.header('authorization');
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new HeraldError(ErrorCode.unauthorized, 'Authorization header must be "Bearer <token>"');
    return { token: m[1]!, source: 'header' };
  }
  const query = url.searchParams.get('authorization');
  if (query) return { token: query, source: 'query' };
  const cookie = readCookie(req.header('cookie'), cookieName);
  if (cookie) return { token: cookie, source: 'cookie' };
  return { source: 'none' };
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
