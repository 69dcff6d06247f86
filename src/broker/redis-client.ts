import { isIP } from 'node:net';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';

/**
 * The one place Herald turns a `--redis` URL into ioredis clients; the brokers, the state
 * store and the ingest all get their connections here, with the same fail-fast settings.
 *
 * What `--redis` names: one instance (`redis://`, `rediss://`), a Redis Cluster
 * (`redis+cluster://h1:p1,h2:p2`, any reachable nodes as seeds) or a Sentinel-managed
 * primary (`redis+sentinel://s1:26379,s2:26379/service[/db]`). The `+cluster` and
 * `+sentinel` forms take `rediss+...` for TLS and `user:password@` before the hosts; the
 * password is the data nodes' (Sentinel itself is asked without one unless
 * `?sentinelPassword=` is given). A single-instance URL is parsed by ioredis itself, after a
 * check that turns the mistakes it would accept silently (another scheme, a database that is
 * not a number) into a one-line reason; ioredis has no URL form for the other two.
 */
export type RedisTarget =
  | { kind: 'single'; url: string; href: string; options: RedisOptions }
  | { kind: 'cluster'; url: string; seeds: { host: string; port: number }[]; options: RedisOptions }
  | { kind: 'sentinel'; url: string; options: RedisOptions };

/** The URL with any password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}

const MULTI = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/;

/** Parses and checks a `--redis` URL; throws a one-line reason when it cannot be used. */
export function parseRedisTarget(url: string): RedisTarget {
  const m = MULTI.exec(url);
  if (!m) return { kind: 'single', url: redactUrl(url), href: url, options: checkSingleUrl(url) };
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

/**
 * Checks a single-instance URL before ioredis parses it, and returns the options to add to
 * what ioredis reads from it: the TLS server name, so a `rediss://` host name is checked
 * against its certificate by SNI too.
 */
function checkSingleUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(redactUrl(url))}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new Error(`unsupported scheme ${JSON.stringify(u.protocol)}; use redis:// or rediss://`);
  if (!u.hostname) throw new Error('the URL names no host');
  const dbPath = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (dbPath !== '' && !/^\d{1,5}$/.test(dbPath))
    throw new Error(`database must be a number, got ${JSON.stringify(dbPath)}`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  // TLS verification uses the system CAs plus NODE_EXTRA_CA_CERTS.
  return u.protocol === 'rediss:' ? { tls: isIP(host) ? {} : { servername: host } } : {};
}

function parseHostPort(text: string, defaultPort: number): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new Error(`not a host[:port]: ${JSON.stringify(text)}`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`port out of range: ${JSON.stringify(text)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Backs off 100 ms, 200 ms... up to `maxMs` between reconnect attempts. */
export function reconnectDelay(maxMs: number): (times: number) => number {
  return (times) => Math.min(50 * 2 ** Math.min(times, 10), maxMs);
}

/**
 * Settings of a connection whose commands either run now or fail now: the caller turns the
 * failure into a 503 rather than holding a publisher while Redis is away, and an unanswered
 * publish is never silently replayed later.
 */
export const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
};

/**
 * A client of one instance or of a Sentinel-managed primary. `options` come on top of the
 * URL's (connection name, timeouts, `FAIL_FAST`...). Not connected when `lazyConnect` is set.
 */
export function createRedisClient(
  target: Exclude<RedisTarget, { kind: 'cluster' }>,
  options: RedisOptions,
): Redis {
  if (target.kind === 'single') return new Redis(target.href, { ...target.options, ...options });
  return new Redis({ ...target.options, ...options });
}

/**
 * A Redis Cluster client: `redisOptions` apply to every node connection, `clusterOptions`
 * override Herald's defaults (fail fast, read from primaries, follow failovers within
 * seconds).
 */
export function createClusterClient(
  target: Extract<RedisTarget, { kind: 'cluster' }>,
  redisOptions: RedisOptions,
  overrides: Partial<ClusterOptions> = {},
): Cluster {
  return new Cluster(target.seeds, {
    redisOptions: { ...redisOptions, ...target.options },
    // A command either runs now or fails now (see FAIL_FAST): no offline queue, and a slot
    // whose primary is gone fails until the cluster has promoted a replica.
    enableOfflineQueue: false,
    enableReadyCheck: true,
    scaleReads: 'master',
    maxRedirections: 4,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 2000,
    ...overrides,
  });
}

/** A plain connection to one node of a cluster (a shard's subscriber), with the URL's credentials. */
export function createClusterNodeClient(
  target: Extract<RedisTarget, { kind: 'cluster' }>,
  node: { host: string; port: number },
  options: RedisOptions,
): Redis {
  return new Redis({ ...target.options, ...options, host: node.host, port: node.port });
}

/** Any client for a target: a Cluster client for a cluster, a plain one otherwise. */
export function createAnyClient(
  target: RedisTarget,
  options: RedisOptions,
  overrides: Partial<ClusterOptions> = {},
): Redis | Cluster {
  return target.kind === 'cluster'
    ? createClusterClient(target, options, overrides)
    : createRedisClient(target, options);
}

/** Why a client is down, in one line (the address stays in the detail, for logs only). */
export function errorMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/**
 * Durable publishing (`--redis-wait-replicas`): after a publish script, `WAIT` on the same
 * connection until `replicas` replicas have every write it made, or `timeoutMs`. Falling
 * short is a 503 with the reason: the update is stored on the primary and delivered, but a
 * failover now could lose it; the publisher retries with the same idempotency key, which
 * waits again without publishing twice.
 */
export async function waitForReplicas(client: Redis, replicas: number, timeoutMs: number): Promise<void> {
  if (replicas <= 0) return;
  const acked = Number(await client.wait(replicas, timeoutMs));
  if (acked < replicas)
    throw new HeraldError(
      ErrorCode.brokerUnavailable,
      `stored, but only ${acked} of ${replicas} Redis replicas confirmed it within ${timeoutMs} ms; retry with the same Idempotency-Key`,
      { retryAfter: 1 },
    );
}
