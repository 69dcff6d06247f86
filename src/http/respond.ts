import type { HeraldError } from '../protocol/errors.ts';
import type { HeraldExchange } from './exchange.ts';

/** Answers with a status and a one-line text reason; after the head went out, cuts the connection. */
export function sendError(
  ex: HeraldExchange,
  error: HeraldError,
  extraHeaders: Record<string, string> = {},
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
  if (error.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="herald"';
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
