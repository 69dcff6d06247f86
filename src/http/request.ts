import type { IncomingMessage } from 'node:http';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';

/** Where a token came from; cookie-borne tokens need a CSRF check on unsafe methods. */
export type TokenSource = 'header' | 'query' | 'cookie' | 'none';

/**
 * The presented token, by Mercure's precedence: Authorization header, then the
 * `authorization` query parameter, then the cookie.
 */
export function extractToken(
  req: IncomingMessage,
  url: URL,
  cookieName: string,
): { token?: string; source: TokenSource } {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new HeraldError(ErrorCode.unauthorized, 'Authorization header must be "Bearer <token>"');
    return { token: m[1]!, source: 'header' };
  }
  const query = url.searchParams.get('authorization');
  if (query) return { token: query, source: 'query' };
  const cookie = readCookie(req.headers.cookie, cookieName);
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

/** Reads a request body, refusing (413) past `maxBytes` without buffering the excess. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new HeraldError(ErrorCode.bodyTooLarge, `body larger than ${maxBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume();
        reject(new HeraldError(ErrorCode.bodyTooLarge, `body larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', (e) => reject(new HeraldError(ErrorCode.badBody, `could not read body: ${e.message}`)));
    req.on('aborted', () => reject(new HeraldError(ErrorCode.badBody, 'request aborted')));
  });
}

/** Decodes UTF-8 strictly: invalid bytes are a 400, never silently replaced. */
export function decodeUtf8(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new HeraldError(ErrorCode.badBody, 'body is not valid UTF-8');
  }
}

export function clientIp(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
