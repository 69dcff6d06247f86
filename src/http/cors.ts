import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { HeaderSource, HeraldExchange } from './exchange.ts';
import { sendError } from './respond.ts';

/**
 * CORS by explicit allow-list. A listed origin gets credentials; `*` in the list allows any
 * origin but never with credentials; the literal `null` origin is never allowed. With any
 * list configured every answer says `Vary: Origin`: it depends on the Origin header, even
 * when that answer is "no CORS headers", and a shared cache must not hand one origin's
 * answer to another.
 */
export function corsHeaders(req: HeaderSource, allowed: readonly string[]): Record<string, string> {
  if (allowed.length === 0) return {};
  const origin = req.header('origin');
  if (!origin || origin === 'null') return { Vary: 'Origin' };
  if (allowed.includes(origin)) {
    return {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Expose-Headers': EXPOSED,
      Vary: 'Origin',
    };
  }
  if (allowed.includes('*')) {
    return { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': EXPOSED, Vary: 'Origin' };
  }
  return { Vary: 'Origin' };
}

const EXPOSED = 'Last-Event-ID, Mercure-Last-Event-ID, Link, Retry-After, WWW-Authenticate, X-Herald-Error';

export function isOriginAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  return origin !== undefined && origin !== 'null' && (allowed.includes(origin) || allowed.includes('*'));
}

/** Answers an OPTIONS preflight: 204 for allowed origins, 403 otherwise. */
export function handlePreflight(ex: HeraldExchange, allowed: readonly string[]): void {
  const headers = corsHeaders(ex, allowed);
  if (!headers['Access-Control-Allow-Origin']) {
    sendError(
      ex,
      new HeraldError(ErrorCode.forbiddenOrigin, `origin ${ex.header('origin') ?? '(none)'} is not allowed`),
    );
    return;
  }
  ex.respond(204, {
    ...headers,
    'Access-Control-Allow-Methods': 'GET, QUERY, POST, OPTIONS',
    'Access-Control-Allow-Headers':
      'Authorization, Content-Type, Last-Event-ID, Cache-Control, Idempotency-Key',
    'Access-Control-Max-Age': '600',
  });
}
