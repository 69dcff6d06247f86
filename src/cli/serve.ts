import cluster from 'node:cluster';
import { kindOf } from '../broker/broker.ts';
import type { HeraldConfig } from '../config/definitions.ts';
import { ConfigError, helpText, loadConfig } from '../config/load.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { startHerald } from '../start.ts';
import { containProcessErrors } from './contain-errors.ts';
import { connectionCap, openFilesLimit } from './descriptor-limit.ts';
import { isClusterWorker, runPrimary, workerBroker, workerNodeView, workerStateStore } from './cluster.ts';
import { DEMO_TOPICS, startDemoPublisher } from './demo.ts';

/** `herald serve`: start a hub and run until SIGTERM/SIGINT. */
export async function serve(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText());
    return;
  }
  const loaded = loadConfig(argv);
  const { rest } = loaded;
  if (rest.length > 0) throw new ConfigError(`unexpected argument ${rest[0]} (serve takes only options)`);
  // The default cap fits the descriptors this process may open; an explicit one is kept.
  const cap = connectionCap(
    loaded.config.maxConnections,
    loaded.explicit.has('maxConnections'),
    openFilesLimit(),
  );
  // The cap counts the whole node (every worker): left unset, each worker brings its share.
  const perNode =
    !loaded.explicit.has('maxConnections') && loaded.config.workers > 1 && cap.maxConnections > 0
      ? cap.maxConnections * loaded.config.workers
      : cap.maxConnections;
  const config = { ...loaded.config, maxConnections: perNode };
  refuseUnusableHub(config);
  const worker = isClusterWorker();
  if (config.workers > 1 && !worker) return runPrimary(config);
  const broker = worker ? workerBroker(config) : undefined;
  const state = worker ? workerStateStore(config) : undefined;
  const node = worker ? workerNodeView() : undefined;
  const running = await startHerald(config, undefined, {
    ...(broker ? { broker } : {}),
    ...(state ? { state } : {}),
    ...(node ? { node } : {}),
  });
  const { logger } = running;
  // From here on, an error escaping one connection's code path is logged, never fatal.
  containProcessErrors(logger, () => running.hub.recordRefusal(ErrorCode.internal));
  if (cap.warning) logger.warn({ event: 'descriptor-limit' }, cap.warning);
  logger.info(
    {
      event: 'listening',
      url: running.url,
      broker: kindOf(running.hub.broker),
      maxConnections: config.maxConnections,
    },
    'herald listening',
  );
  let stopDemo: (() => void) | undefined;
  // In --workers mode one demo publisher is enough: the first worker runs it.
  const leader = !worker || cluster.worker?.id === 1;
  if (config.demo && leader)
    stopDemo = startDemoPublisher(running.hub, (e) => logger.warn({ err: e }, 'demo publish failed'));
  if (config.dev && leader) printDevBanner(running.url, config.path, running.devToken, config.demo);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'shutting down');
    stopDemo?.();
    // Bounded: a stuck client or broker must not keep the process alive forever.
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    running.close().then(
      () => {
        logger.flush?.();
        process.exit(0);
      },
      (e: unknown) => {
        logger.error({ err: e }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * A hub with no key and no anonymous access serves nobody: say what to pass instead of starting
 * one. `--anonymous` alone is a deliberate choice (public reads, publishes through
 * `--redis-ingest` or the embedding app), so it starts.
 */
function refuseUnusableHub(config: HeraldConfig): void {
  const keys = [
    config.jwtKey,
    config.publisherJwtKey,
    config.subscriberJwtKey,
    config.jwtKeyFile,
    config.publisherJwtKeyFile,
    config.subscriberJwtKeyFile,
  ];
  if (config.dev || config.anonymous || keys.some((k) => k !== undefined && k !== '')) return;
  throw new ConfigError(
    'no JWT key, so nobody could publish or subscribe. Pass --jwt-key <secret> ' +
      '(or HERALD_JWT_KEY, or --jwt-key-file <public.pem>) to run a hub, or --dev to try Herald on this machine',
  );
}

function printDevBanner(url: string, path: string, token: string | undefined, demo: boolean): void {
  const lines = [
    '',
    `  Herald is running in dev mode at ${url}`,
    `  Dashboard:  ${url}/dashboard/`,
    `  Subscribe:  curl -N '${url}${path}?topic=*'`,
    demo ? `  Demo topics: ${DEMO_TOPICS.metrics} , ${DEMO_TOPICS.activity}` : '',
    `  Dev token (publish + subscribe everything, admin):`,
    `    ${token ?? '(none)'}`,
    `  Publish:    curl -H "Authorization: Bearer $TOKEN" -d topic=https://example.com/hello -d data=hi ${url}${path}`,
    '',
  ].filter((l) => l !== '');
  process.stderr.write(lines.join('\n') + '\n\n');
}

export { ConfigError };
