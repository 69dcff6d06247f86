import type { ServerResponse } from 'node:http';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';

/** Answers with a status and a one-line text reason; never throws. */
export function sendError(
  res: ServerResponse,
  error: HeraldError,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
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
  const body = `${error.message.replace(/[\r\n]+/g, ' ')}\n`;
  res.writeHead(error.status, headers);
  res.end(body);
}

export function toHeraldError(e: unknown): HeraldError {
  if (isHeraldError(e)) return e;
  return new HeraldError(ErrorCode.badRequest, 'internal error');
}

export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}
