import { ErrorCode, type BearerError, type HeraldError } from '../protocol/errors.ts';
import type { HeraldExchange } from './exchange.ts';

/**
 * The RFC 6750 challenge for an error, or undefined when it needs none: every 401 and every
 * 403 on a topic carries one, and so does a 400 about how the token was presented.
 * `resourceMetadata` is the RFC 9728 metadata URL, so a client can find the `aud` to ask for.
 */
export function bearerChallenge(error: HeraldError, resourceMetadata?: string): string | undefined {
  let kind: BearerError | undefined = error.bearer;
  if (kind === undefined) {
    if (error.status === 401) kind = 'invalid_token';
    else if (error.code === ErrorCode.forbiddenTopic) kind = 'insufficient_scope';
    else return undefined;
  }
  const parts = ['realm="herald"'];
  if (kind !== 'none') parts.push(`error="${kind}"`);
  if (resourceMetadata !== undefined) parts.push(`resource_metadata="${resourceMetadata}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** Answers with a status and a one-line text reason; after the head went out, cuts the connection. */
export function sendError(
  ex: HeraldExchange,
  error: HeraldError,
  extraHeaders: Record<string, string> = {},
  resourceMetadata?: string,
): void {
  if (ex.answered) {
    ex.abort();
    return;
  }
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Herald-Error': error.code,
    ...extraHeaders,
  };
  if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter);
  const challenge = bearerChallenge(error, resourceMetadata);
  if (challenge !== undefined) headers['WWW-Authenticate'] = challenge;
  ex.respond(error.status, headers, `${error.message.replace(/[\r\n]+/g, ' ')}\n`);
}

export function sendText(
  ex: HeraldExchange,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  ex.respond(
    status,
    { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
    body,
  );
}

export function sendJson(
  ex: HeraldExchange,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  ex.respond(
    status,
    { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
    JSON.stringify(body),
  );
}
