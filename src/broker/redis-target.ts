import type { ClusterOptions, RedisOptions } from 'ioredis';
import { redactUrl, redisUrlOptions } from './redis-connection.ts';

/**
 * What `--redis` names: one instance (`redis://`, `rediss://`, unchanged), a Redis Cluster
 * (`redis+cluster://h1:p1,h2:p2`, any reachable nodes as seeds) or a Sentinel-managed
 * primary (`redis+sentinel://s1:26379,s2:26379/service[/db]`). The `+cluster` and
 * `+sentinel` forms take `rediss+...` for TLS and `user:password@` before the hosts; the
 * password is the data nodes' (Sentinel itself is asked without one unless
 * `?sentinelPassword=` is given).
 */
export type RedisTarget =
  | { kind: 'single'; url: string; options: RedisOptions }
  | { kind: 'cluster'; url: string; seeds: { host: string; port: number }[]; options: RedisOptions }
  | { kind: 'sentinel'; url: string; options: RedisOptions };

const MULTI = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/;

export function parseRedisTarget(url: string): RedisTarget {
  const m = MULTI.exec(url);
  if (!m) return { kind: 'single', url: redactUrl(url), options: redisUrlOptions(url) };
  const [, scheme, kind, auth, hostList, path = '', query = ''] = m;
  const hosts = hostList!.split(',').map((h) => parseHostPort(h, kind === 'sentinel' ? 26379 : 6379));
  const options: RedisOptions = {};
  if (auth) {
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon));
    const pass = colon < 0 ? '' : decodeURIComponent(auth.slice(colon + 1));
    if (user) options.username = user;
    if (pass) options.password = pass;
  }
  if (scheme === 'rediss') options.tls = {};
  const params = new URLSearchParams(query);
  const redacted = redactUrl(url);
  if (kind === 'cluster') {
    if (path !== '' && path !== '/')
      throw new Error('a cluster URL names no database (Redis Cluster has only 0)');
    return { kind: 'cluster', url: redacted, seeds: hosts, options };
  }
  const parts = path.split('/').filter((p) => p !== '');
  const service = parts[0];
  if (!service)
    throw new Error('a sentinel URL names the monitored service: redis+sentinel://host:26379/<service>');
  if (parts[1] !== undefined) {
    if (!/^\d{1,5}$/.test(parts[1]))
      throw new Error(`database must be a number, got ${JSON.stringify(parts[1])}`);
    options.db = Number(parts[1]);
  }
  options.sentinels = hosts;
  options.name = decodeURIComponent(service);
  const sentinelPassword = params.get('sentinelPassword');
  if (sentinelPassword) options.sentinelPassword = sentinelPassword;
  if (scheme === 'rediss') options.enableTLSForSentinelMode = true;
  return { kind: 'sentinel', url: redacted, options };
}

function parseHostPort(text: string, defaultPort: number): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new Error(`not a host[:port]: ${JSON.stringify(text)}`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`port out of range: ${JSON.stringify(text)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** ioredis Cluster options for a cluster target, with Herald's fail-fast command settings. */
export function clusterOptions(
  target: Extract<RedisTarget, { kind: 'cluster' }>,
  base: RedisOptions,
): ClusterOptions {
  return {
    redisOptions: { ...base, ...target.options },
    // A command either runs now or fails now (see RedisConnection): no offline queue, and a
    // slot whose primary is gone fails until the cluster has promoted a replica.
    enableOfflineQueue: false,
    enableReadyCheck: true,
    scaleReads: 'master',
    maxRedirections: 4,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 2000,
  };
}
