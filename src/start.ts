import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { VerificationKey } from './auth/keys.ts';
import { publicKeyFromFile, secretKey } from './auth/keys.ts';
import { JwtAuthorizer } from './auth/jwt-authorizer.ts';
import { mintToken } from './auth/mint.ts';
import type { Broker } from './broker/broker.ts';
import { MemoryBroker } from './broker/memory.ts';
import { MemoryStateStore } from './broker/memory-state.ts';
import type { StateStore } from './broker/state-store.ts';
import { defaults, type HeraldConfig } from './config/definitions.ts';
import { ConfigError } from './config/load.ts';
import { Hub } from './hub/hub.ts';
import type { HubObserver } from './hub/observer.ts';
import type { HttpContext } from './http/context.ts';
import { createHttpServer } from './http/server.ts';
import { attachWebSocket } from './http/ws-upgrade.ts';
import { defaultHttpOptions } from './http/options.ts';
import { connectionLogObserver } from './log/connection-log.ts';
import { PrometheusMetrics } from './metrics/prometheus.ts';

/** Secret used by `--dev` when no key is given; printed tokens only work against dev hubs. */
export const DEV_JWT_KEY = 'herald-dev-secret-do-not-use-in-production';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A running hub: its address and how to stop it. */
export interface RunningHerald {
  url: string;
  port: number;
  hub: Hub;
  server: Server;
  config: HeraldConfig;
  logger: Logger;
  /** Dev mode only: a token allowed to do everything. */
  devToken: string | undefined;
  /** Graceful stop: refuse new work, tell clients to come back, close the broker. */
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
    return new MemoryBroker({ historySize: config.history, historyTtlMs: config.historyTtl });
  // Loaded only when asked for, so a memory-only hub never loads the Redis client.
  const { RedisBroker } = await import('./broker/redis.ts');
  try {
    return new RedisBroker({
      url: config.redis,
      historySize: config.history,
      historyTtlMs: config.historyTtl,
      logger,
    });
  } catch (e) {
    throw new ConfigError(`--redis: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Parts a caller may provide instead of having them built from the config. */
export interface HeraldDeps {
  /** A broker that outlives this hub (tests: a node restarting on a durable broker). */
  broker?: Broker;
}

async function createStateStore(config: HeraldConfig): Promise<StateStore> {
  const limits = { maxTopics: config.maxStates, maxStateBytes: config.maxStateBytes };
  if (!config.redis) return new MemoryStateStore({ limits });
  // Loaded only when asked for, like the Redis broker: state must live where every node sees it.
  const { RedisStateStore } = await import('./broker/redis-state.ts');
  return new RedisStateStore({ redis: config.redis, limits });
}

/** Composition root: builds broker, auth, hub, metrics and HTTP server from a config, and listens. */
export async function startHerald(
  partial: Partial<HeraldConfig> = {},
  extraObserver?: HubObserver,
  deps: HeraldDeps = {},
): Promise<RunningHerald> {
  const config: HeraldConfig = { ...defaults, ...partial };
  if (config.dev) {
    if (partial.host === undefined) config.host = '127.0.0.1';
    if (!config.jwtKey && !config.jwtKeyFile) config.jwtKey = DEV_JWT_KEY;
    config.anonymous = true;
  }
  const logger = pino({
    level: config.logLevel,
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
      ],
      censor: '[redacted]',
    },
  });
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

  const metrics = new PrometheusMetrics();
  const broker = deps.broker ?? (await createBroker(config, logger));
  const state = await createStateStore(config);
  const hub = new Hub({
    broker,
    state,
    heartbeatMs: config.heartbeat,
    maxSelectors: config.maxSelectors,
    connectionLimits: {
      maxConnections: config.maxConnections,
      maxPerIp: config.maxConnectionsPerIp,
      maxPerSubject: config.maxConnectionsPerSubject,
      maxPerSelector: config.maxSubscribersPerSelector,
    },
    publishRate: { ratePerSecond: config.publishRate, burst: config.publishBurst },
    ...(config.subscriptions ? { subscriptionEventsPath: config.path } : {}),
    observer: combineObservers(metrics.observer, connectionLogObserver(logger), extraObserver),
  });
  metrics.attach(hub);
  await hub.start();

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
  const httpContext: HttpContext = {
    hub,
    authorizer: new JwtAuthorizer({ publisherKey, subscriberKey, anonymous: config.anonymous }),
    logger,
    options: {
      ...defaultHttpOptions,
      path: config.path,
      corsOrigins: config.corsOrigins,
      maxBodyBytes: config.maxBody,
      maxBufferedBytes: config.maxBuffered,
      slowConsumer: config.slowConsumer,
      dev: config.dev,
      dashboardDir: existsSync(builtDashboard) ? builtDashboard : undefined,
      ...(devToken ? { devAdminToken: devToken } : {}),
      ...(config.heartbeat > 0 ? { wsPingIntervalMs: config.heartbeat } : {}),
    },
  };
  const server = createHttpServer(httpContext, [metrics.route]);
  const websockets = attachWebSocket(server, httpContext);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new ConfigError(e.code === 'EADDRINUSE' ? `port ${config.port} is already in use` : e.message),
        ),
      );
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (e) {
    // The broker may hold connections (Redis) that would keep the process alive.
    await hub.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    hub,
    server,
    config,
    logger,
    devToken,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await hub.close();
        await state.close();
        const wsClosed = websockets.close();
        server.closeIdleConnections();
        // Ended streams flush their last bytes; anything still open after the grace period is cut.
        const grace = setTimeout(() => server.closeAllConnections(), 3000);
        await wsClosed;
        await closed;
        clearTimeout(grace);
      })();
      return closing;
    },
  };
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
