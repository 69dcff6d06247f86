import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { DEV_ISSUER, jwksFrom, parseIssuerJwks, type IssuerKeys } from './auth/issuers.ts';
import { JwtAuthorizer } from './auth/jwt-authorizer.ts';
import type { VerificationKey } from './auth/keys.ts';
import { publicKeyFromFile, secretKey } from './auth/keys.ts';
import { mintToken } from './auth/mint.ts';
import { SERVER_PRINCIPAL } from './auth/principal.ts';
import type { Broker } from './broker/broker.ts';
import { MemoryBroker } from './broker/memory.ts';
import { MemoryStateStore } from './broker/memory-state.ts';
import type { StateStore } from './broker/state-store.ts';
import { defaults, type HeraldConfig } from './config/definitions.ts';
import { ConfigError } from './config/load.ts';
import type { HttpContext } from './http/context.ts';
import { createFetchHandler, type FetchHandler } from './http/fetch-adapter.ts';
import { createNodeHandler, type NodeHandler } from './http/node-adapter.ts';
import { defaultHttpOptions } from './http/options.ts';
import { jsonPublishInput } from './protocol/publish-body.ts';
import { createRouter } from './http/router.ts';
import { createWsGateway } from './http/ws-upgrade.ts';
import { WriteBatch } from './transport/write-batch.ts';
import { Hub } from './hub/hub.ts';
import type { IngestCounters } from './ingest/handler.ts';
import type { HubObserver } from './hub/observer.ts';
import type { PresenceStore } from './hub/presence-store.ts';
import type { NodeView } from './hub/node-view.ts';
import type { HubStatsSnapshot } from './hub/stats.ts';
import type { Registry } from 'prom-client';
import { connectionLogObserver } from './log/connection-log.ts';
import { PrometheusMetrics } from './metrics/prometheus.ts';
import { metricsRoute } from './http/metrics-route.ts';
import type { Update } from './protocol/update.ts';

/** Secret used by `--dev` when no key is given; printed tokens only work against dev hubs. */
export const DEV_JWT_KEY = 'herald-dev-secret-do-not-use-in-production';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Settings of an embedded hub: every `herald serve` setting, plus what only embedding needs. */
export interface HeraldOptions extends Partial<HeraldConfig> {
  /**
   * Prefix of the routes besides the Mercure endpoint (`{basePath}/healthz`, `/readyz`,
   * `/metrics`), and of the endpoint itself when `path` is not given
   * (`{basePath}/.well-known/mercure`). Default ''.
   */
  basePath?: string;
  /** Serve the admin dashboard at `/dashboard` (hubs at the root only). Default false. */
  dashboard?: boolean;
  /** Another observer of the hub (tests, custom metrics). */
  observer?: HubObserver;
  /** A broker built by the caller (one that outlives this hub). */
  broker?: Broker;
  /** A retained-state store built by the caller; closed with the hub. */
  state?: StateStore;
  /** The application's pino logger; default: a new one at `logLevel`. */
  logger?: Logger;
  /** `--workers N`: the other worker processes of this node (node-wide caps, stats, `/metrics`). */
  node?: NodeProcesses;
  /** Tuning of the Redis ingest (`redisIngest`): consumer name, read block, reclaim idle time (ms). */
  ingest?: { consumer?: string; blockMs?: number; reclaimIdleMs?: number };
}

/** A worker's view of its node: the hub's seam, plus what the metrics and the stats timer need. */
export interface NodeProcesses extends NodeView {
  /** The node's metrics text (every worker's registry aggregated). */
  metrics(): Promise<string>;
  /** The node's presence (`--subscriptions` without Redis): every worker's subscribers. */
  presence?: PresenceStore;
  /** Starts reporting this process's stats and answering metrics collections from its registry. */
  attach(stats: () => HubStatsSnapshot, registry: Registry): void;
  close(): void;
}

/**
 * What a server-side publish may contain: the JSON publish shape (`topics` or `topic`, `data`
 * as text or any JSON value, `id`, `type`, `retry`, `private`).
 */
export type ServerPublish = Record<string, unknown> & { topics?: string[] | string; topic?: string };

/** A hub running inside an application: the same protocol, mounted wherever the app wants it. */
export interface HeraldHub {
  /** The hub core (subscriptions, counters). */
  readonly hub: Hub;
  readonly config: HeraldConfig;
  readonly logger: Logger;
  readonly metrics: PrometheusMetrics;
  /** Dev mode only: a token allowed to do everything. */
  readonly devToken: string | undefined;
  /** With `redisIngest`: what the ingest did since the start. */
  readonly ingest: IngestCounters | undefined;
  /**
   * Trusted publish from the application itself: no token, same validation as an HTTP publish
   * (a 400-class HeraldError for a bad update). Resolves with the stored update(s).
   */
  publish(update: ServerPublish): Promise<Update>;
  publish(updates: readonly ServerPublish[]): Promise<Update[]>;
  /** Web-standard handler (Next.js App Router, Hono, Bun, Deno): `export const GET = hub.fetch`. */
  readonly fetch: FetchHandler;
  /**
   * Node `(req, res, next?)` handler: `http.createServer(hub.handle)`, `app.use(hub.handle)` in
   * Express (requests that are not the hub's go to `next`), or a Fastify route.
   */
  readonly handle: NodeHandler;
  /** Takes a node server's `'upgrade'` for `{path}/ws`; false (untouched) for other paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Serves the WebSocket endpoint on a node server; returns the detach function. */
  attach(server: Server): () => void;
  /** Graceful stop: tells SSE and WebSocket clients to come back, closes the broker. */
  close(): Promise<void>;
}

function keyFor(
  secret: string | undefined,
  file: string | undefined,
  name: string,
): VerificationKey | undefined {
  if (secret && file) throw new ConfigError(`set either ${name}-key or ${name}-key-file, not both`);
  try {
    if (file) return publicKeyFromFile(file);
    if (secret) return secretKey(secret);
  } catch (e) {
    throw new ConfigError(`${name}: ${(e as Error).message}`);
  }
  return undefined;
}

async function createBroker(config: HeraldConfig, logger: Logger): Promise<Broker> {
  if (!config.redis)
    return new MemoryBroker({
      historySize: config.history,
      historyTtlMs: config.historyTtl,
      idempotencyWindowMs: config.idempotencyWindow,
    });
  // Loaded only when asked for, so a memory-only hub never loads the Redis client.
  const { createRedisBroker } = await import('./broker/redis-backends.ts');
  try {
    return createRedisBroker({
      url: config.redis,
      historySize: config.history,
      historyTtlMs: config.historyTtl,
      idempotencyWindowMs: config.idempotencyWindow,
      logger,
      partitions: config.redisPartitions,
      waitReplicas: config.redisWaitReplicas,
      waitTimeoutMs: config.redisWaitTimeout,
    });
  } catch (e) {
    throw new ConfigError(`--redis: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** With Redis, presence is kept there so every node's subscriptions API lists every node's subscribers. */
async function createPresence(
  config: HeraldConfig,
  logger: Logger,
  node: NodeProcesses | undefined,
): Promise<{ store?: PresenceStore; maxPending: number }> {
  const maxPending = config.presenceMaxPending;
  if (!config.redis) return node?.presence ? { store: node.presence, maxPending } : { maxPending };
  const { RedisPresenceStore } = await import('./broker/redis-presence.ts');
  try {
    return {
      maxPending,
      store: new RedisPresenceStore({
        url: config.redis,
        ttlMs: config.presenceTtl,
        onError: (e) => logger.warn({ event: 'presence', err: e }, 'presence store renewal failed'),
      }),
    };
  } catch (e) {
    throw new ConfigError(`--presence-ttl: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function createStateStore(config: HeraldConfig, logger: Logger): Promise<StateStore> {
  const limits = {
    maxTopics: config.maxStates,
    maxStateBytes: config.maxStateBytes,
    maxTotalBytes: config.maxStateTotalBytes,
  };
  if (!config.redis) return new MemoryStateStore({ limits, idempotencyWindowMs: config.idempotencyWindow });
  // Loaded only when asked for, like the Redis broker: state must live where every node sees it.
  const { createRedisStateStore } = await import('./broker/redis-backends.ts');
  return createRedisStateStore(config.redis, limits, logger, config.idempotencyWindow);
}

/** pino JSON lines; with `readable` (dev mode on a terminal) pino-pretty's coloured lines instead. */
async function createLogger(level: string, readable: boolean): Promise<Logger> {
  const options: LoggerOptions = {
    level,
    base: { service: 'herald' },
    // Defence in depth: nothing logs tokens, and these paths are censored if something ever does.
    redact: {
      paths: [
        'token',
        'authorization',
        'cookie',
        '*.token',
        '*.authorization',
        '*.cookie',
        'req.headers.authorization',
        'req.headers.cookie',
        'jwtKey',
        '*.jwtKey',
        'metricsToken',
        '*.metricsToken',
      ],
      censor: '[redacted]',
    },
  };
  if (!readable) return pino(options);
  // Loaded only here: a production hub never loads the prettifier.
  const { default: pretty } = await import('pino-pretty');
  return pino(options, pretty({ colorize: true, ignore: 'pid,hostname,service', translateTime: 'HH:MM:ss' }));
}

/**
 * Builds a hub (broker, auth, core, metrics, logs) and its adapters, without listening
 * anywhere: the application mounts `fetch`, `handle` or `attach` where it wants them. The
 * standalone server (`startHerald`) is built on this too.
 */
export async function createHub(options: HeraldOptions = {}): Promise<HeraldHub> {
  const {
    basePath: rawBase = '',
    dashboard = false,
    observer,
    broker: givenBroker,
    state: givenState,
    logger: givenLogger,
    ingest: ingestTuning = {},
    node,
    ...partial
  } = options;
  const basePath = rawBase.replace(/\/+$/, '');
  if (basePath !== '' && !basePath.startsWith('/'))
    throw new ConfigError(`basePath must start with "/", got ${JSON.stringify(rawBase)}`);
  const config: HeraldConfig = { ...defaults, ...stripUndefined(partial) };
  if (partial.path === undefined) config.path = `${basePath}${defaults.path}`;
  if (!config.path.startsWith('/'))
    throw new ConfigError(`path must start with "/", got ${JSON.stringify(config.path)}`);
  if (config.dev) {
    if (!config.jwtKey && !config.jwtKeyFile) config.jwtKey = DEV_JWT_KEY;
    config.anonymous = true;
    if (config.tokenIssuers.length === 0) config.tokenIssuers = [DEV_ISSUER];
  }
  const logger =
    givenLogger ?? (await createLogger(config.logLevel, config.dev && process.stdout.isTTY === true));
  const publisherKey = keyFor(
    config.publisherJwtKey ?? config.jwtKey,
    config.publisherJwtKeyFile ?? config.jwtKeyFile,
    'publisher-jwt',
  );
  const subscriberKey = keyFor(
    config.subscriberJwtKey ?? config.jwtKey,
    config.subscriberJwtKeyFile ?? config.jwtKeyFile,
    'subscriber-jwt',
  );
  if (!publisherKey) logger.warn('no publisher JWT key configured: nobody can publish over HTTP');
  if (!subscriberKey && !config.anonymous)
    logger.warn('no subscriber key and --anonymous off: nobody can subscribe');

  const hubUrl = config.hubUrl ?? `http://localhost${config.path}`;
  let parsedHubUrl: URL;
  try {
    parsedHubUrl = new URL(hubUrl);
  } catch {
    throw new ConfigError(`hub-url ${JSON.stringify(hubUrl)} is not an absolute URL`);
  }
  if (parsedHubUrl.pathname !== config.path)
    throw new ConfigError(`hub-url path ${parsedHubUrl.pathname} differs from path ${config.path}`);
  const resource = config.resource ?? hubUrl;
  if (!URL.canParse(resource))
    throw new ConfigError(`resource ${JSON.stringify(resource)} is not an absolute URL`);
  for (const server of config.authorizationServers)
    if (!/^https?:$/.test(URL.parse(server)?.protocol ?? ''))
      throw new ConfigError(`authorization-servers: ${JSON.stringify(server)} is not an http(s) URL`);
  const issuers = new Map<string, IssuerKeys>();
  for (const iss of config.tokenIssuers)
    issuers.set(iss, { kind: 'static', publisher: publisherKey, subscriber: subscriberKey });
  for (const entry of config.issuerJwks) {
    try {
      const [iss, location] = parseIssuerJwks(entry);
      issuers.set(iss, jwksFrom(location));
    } catch (e) {
      throw new ConfigError(`issuer-jwks: ${(e as Error).message}`);
    }
  }

  const metrics = new PrometheusMetrics();
  const broker = givenBroker ?? (await createBroker(config, logger));
  const state = givenState ?? (await createStateStore(config, logger));
  const hub = new Hub({
    broker,
    state,
    retainedViewBytes: config.maxStateTotalBytes,
    heartbeatMs: config.heartbeat,
    maxSelectors: config.maxSelectors,
    maxTemplateExpressions: config.maxTemplateExpressions,
    templateBudget: {
      maxPatterns: config.maxTemplates,
      maxBytes: config.maxTemplateBytes,
      maxWeightPerTopic: config.maxExpressionsPerTopic,
    },
    connectionLimits: {
      maxConnections: config.maxConnections,
      maxPerIp: config.maxConnectionsPerIp,
      maxPerSubject: config.maxConnectionsPerSubject,
      maxPerSelector: config.maxSubscribersPerSelector,
    },
    publishRate: { ratePerSecond: config.publishRate, burst: config.publishBurst },
    slowConsumer: config.slowConsumer,
    ...(config.subscriptions
      ? { subscriptionEventsPath: config.path, presence: await createPresence(config, logger, node) }
      : {}),
    hubUrl,
    ...(node ? { node } : {}),
    observer: combineObservers(metrics.observer, connectionLogObserver(logger), observer),
  });
  metrics.attach(hub);
  if (node) {
    node.attach(() => hub.statsSnapshot(), metrics.registry);
    metrics.attachNode({
      metrics: () => node.metrics(),
      connections: () => hub.admittedCount + node.othersConnections(),
    });
  }
  await hub.start();
  const ingest = config.redisIngest
    ? await startIngest(config, hub, logger, metrics, ingestTuning)
    : undefined;

  const devToken =
    config.dev && config.jwtKey
      ? await mintToken({
          secret: config.jwtKey,
          publish: ['*'],
          subscribe: ['*'],
          subject: 'dev',
          admin: true,
        })
      : undefined;
  const builtDashboard = config.dashboardDir ?? join(repoRoot, 'dashboard', 'dist');
  const ctx: HttpContext = {
    hub,
    authorizer: new JwtAuthorizer({
      publisherKey,
      subscriberKey,
      anonymous: config.anonymous,
      accessTokens: { resource, issuers, hubUrl },
    }),
    logger,
    writes: new WriteBatch(),
    options: {
      ...defaultHttpOptions,
      path: config.path,
      hubUrl,
      resource,
      authorizationServers: config.authorizationServers,
      subscriptions: config.subscriptions,
      basePath,
      dashboard,
      corsOrigins: config.corsOrigins,
      maxBodyBytes: config.maxBody,
      maxBufferedBytes: config.maxBuffered,
      wsSubscribeTimeoutMs: config.wsSubscribeTimeout,
      wsDeflate: config.wsDeflate === 'on',
      dev: config.dev,
      dashboardDir: dashboard && existsSync(builtDashboard) ? builtDashboard : undefined,
      ...(devToken ? { devAdminToken: devToken } : {}),
      ...(config.heartbeat > 0 ? { wsPingIntervalMs: config.heartbeat } : {}),
    },
  };
  const router = createRouter(ctx, [metricsRoute(metrics, `${basePath}/metrics`, config.metricsToken)]);
  const websockets = createWsGateway(ctx);

  async function publish(update: ServerPublish): Promise<Update>;
  async function publish(updates: readonly ServerPublish[]): Promise<Update[]>;
  async function publish(input: ServerPublish | readonly ServerPublish[]): Promise<Update | Update[]> {
    const many = Array.isArray(input);
    const list = (many ? input : [input]) as readonly ServerPublish[];
    const stored = await hub.publish(
      list.map((item, i) => jsonPublishInput(item, many ? `update ${i}: ` : '')),
      SERVER_PRINCIPAL,
      { ip: 'server' },
    );
    return many ? stored : stored[0]!;
  }

  let closing: Promise<void> | undefined;
  return {
    hub,
    config,
    logger,
    metrics,
    devToken,
    ingest: ingest?.counters,
    publish,
    fetch: createFetchHandler(router),
    handle: createNodeHandler(router, ctx.writes),
    handleUpgrade: websockets.handleUpgrade,
    attach: (server) => websockets.attach(server),
    close() {
      closing ??= (async () => {
        await ingest?.close();
        await hub.close();
        await state.close();
        await websockets.close();
        node?.close();
      })();
      return closing;
    },
  };
}

async function startIngest(
  config: HeraldConfig,
  hub: Hub,
  logger: Logger,
  metrics: PrometheusMetrics,
  tuning: NonNullable<HeraldOptions['ingest']>,
): Promise<{ counters: IngestCounters; close(): Promise<void> }> {
  if (!config.redis) {
    await hub.close();
    throw new ConfigError('redis-ingest needs --redis');
  }
  if (config.redis.includes('+cluster://')) {
    await hub.close();
    throw new ConfigError('redis-ingest needs a single Redis or a Sentinel-managed one, not a cluster (yet)');
  }
  const { RedisIngest } = await import('./ingest/redis-stream.ts');
  const { ingestHandler } = await import('./ingest/handler.ts');
  const counters: IngestCounters = { published: 0, rejected: 0, duplicates: 0 };
  metrics.attachIngest(counters);
  const ingest: InstanceType<typeof RedisIngest> = new RedisIngest({
    url: config.redis,
    consumer: tuning.consumer ?? `herald-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    logger,
    handle: ingestHandler(hub, logger, counters, (id) => ingest.isStored(id)),
    ...(tuning.blockMs !== undefined ? { blockMs: tuning.blockMs } : {}),
    ...(tuning.reclaimIdleMs !== undefined ? { reclaimIdleMs: tuning.reclaimIdleMs } : {}),
  });
  try {
    await ingest.start();
  } catch (e) {
    await hub.close();
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
  return { counters, close: () => ingest.close() };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function combineObservers(...observers: (HubObserver | undefined)[]): HubObserver {
  const list = observers.filter((o): o is HubObserver => o !== undefined);
  if (list.length === 1) return list[0]!;
  const out: HubObserver = {};
  const keys: (keyof HubObserver)[] = [
    'onSubscribe',
    'onUnsubscribe',
    'onResume',
    'onPublish',
    'onDispatch',
    'onRefusal',
    'onDropped',
  ];
  for (const k of keys) {
    const fns = list.map((o) => o[k]).filter((f) => f !== undefined) as ((...a: unknown[]) => void)[];
    if (fns.length) (out as Record<string, unknown>)[k] = (...a: unknown[]) => fns.forEach((f) => f(...a));
  }
  return out;
}
