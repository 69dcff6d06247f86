import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { Route } from './exchange.ts';

/** Where the exposition comes from (`PrometheusMetrics`: this process's or the node's). */
export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

/**
 * `GET {path}`: the Prometheus text exposition of `source`. With `token`, only a request
 * carrying `Authorization: Bearer <token>` gets it; any other gets 401.
 */
export function metricsRoute(source: MetricsSource, path: string, token?: string): Route {
  const expected = token ? createHash('sha256').update(token).digest() : undefined;
  return async (ex) => {
    if (ex.url.pathname !== path || ex.method !== 'GET') return false;
    if (expected) {
      const m = /^Bearer (.+)$/.exec(ex.header('authorization') ?? '');
      // Digests compared in constant time: the comparison tells nothing about the token.
      const given = createHash('sha256')
        .update(m?.[1] ?? '')
        .digest();
      if (!m || !timingSafeEqual(given, expected))
        throw new HeraldError(ErrorCode.unauthorized, 'metrics need "Authorization: Bearer <metrics token>"');
    }
    const body = await source.text();
    ex.respond(200, { 'Content-Type': source.contentType, 'Cache-Control': 'no-store' }, body);
    return true;
  };
}
