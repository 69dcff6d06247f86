import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { Broker } from './broker/broker.ts';
import type { StateStore } from './broker/state-store.ts';
import type { HeraldConfig } from './config/definitions.ts';
import { ConfigError } from './config/load.ts';
import { createHub, DEV_JWT_KEY, type HeraldHub, type NodeProcesses } from './create-hub.ts';
import type { Hub } from './hub/hub.ts';
import type { HubObserver } from './hub/observer.ts';
import { createSecureHttpServer, type SecureHubServer, type TlsFiles } from './http/secure-server.ts';
import { createHttpServer } from './http/server.ts';

export { DEV_JWT_KEY };

/**
 * Pending-connection queue of the listening socket. Node's default (511) overflows when
 * thousands of clients reconnect at once (a hub restart, a network blip): the kernel then
 * drops SYNs and clients wait for TCP's retransmit timer (1 s, 3 s, ...). The kernel caps
 * this at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 65_535;

/** A running hub: its address and how to stop it. */
export interface RunningHerald {
  url: string;
  port: number;
  hub: Hub;
  /** The embeddable hub this server serves (`publish`, adapters). */
  herald: HeraldHub;
  /** node:http, or with `--tls-cert` an HTTP/2 TLS server (HTTP/1.1 fallback) with the same sweeps. */
  server: Server | SecureHubServer;
  config: HeraldConfig;
  logger: Logger;
  /** Dev mode only: a token allowed to do everything. */
  devToken: string | undefined;
  /** Graceful stop: refuse new work, tell clients to come back, close the broker. */
  close(): Promise<void>;
}

/** Parts a caller may provide instead of having them built from the config. */
export interface HeraldDeps {
  /** A broker that outlives this hub (tests: a node restarting on a durable broker). */
  broker?: Broker;
  /** A retained-state store built by the caller (a `--workers` worker: the primary's). */
  state?: StateStore;
  /** A `--workers` worker: the node's other processes (node-wide caps, stats, `/metrics`). */
  node?: NodeProcesses;
}

/** The standalone server: `createHub` served by its own node:http server, listening. */
export async function startHerald(
  partial: Partial<HeraldConfig> = {},
  extraObserver?: HubObserver,
  deps: HeraldDeps = {},
): Promise<RunningHerald> {
  // Before anything starts: a bad certificate must not leave a broker connected.
  const tls = tlsFiles(partial);
  const herald = await createHub({
    ...partial,
    ...(partial.dev && partial.host === undefined ? { host: '127.0.0.1' } : {}),
    dashboard: true,
    ...(extraObserver ? { observer: extraObserver } : {}),
    ...(deps.broker ? { broker: deps.broker } : {}),
    ...(deps.state ? { state: deps.state } : {}),
    ...(deps.node ? { node: deps.node } : {}),
  });
  const { config, hub } = herald;
  const server = tls
    ? createSecureHttpServer(herald.handle, tls, herald.logger)
    : createHttpServer(herald.handle);
  // The gateway only listens for 'upgrade', which the TLS server emits for HTTP/1.1 connections.
  herald.attach(server as Server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new ConfigError(e.code === 'EADDRINUSE' ? `port ${config.port} is already in use` : e.message),
        ),
      );
      server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => resolve());
    });
  } catch (e) {
    // The broker may hold connections (Redis) that would keep the process alive.
    await herald.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `${tls ? 'https' : 'http'}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    hub,
    herald,
    server,
    config,
    logger: herald.logger,
    devToken: herald.devToken,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const stopped = herald.close();
        server.closeIdleConnections();
        // Ended streams flush their last bytes; anything still open after the grace period is cut.
        const grace = setTimeout(() => server.closeAllConnections(), 3000);
        await stopped;
        await closed;
        clearTimeout(grace);
      })();
      return closing;
    },
  };
}

function tlsFiles(config: Partial<HeraldConfig>): TlsFiles | undefined {
  if (!config.tlsCert && !config.tlsKey) return undefined;
  if (!config.tlsCert || !config.tlsKey)
    throw new ConfigError('--tls-cert and --tls-key go together: give both PEM files');
  const read = (file: string, flag: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new ConfigError(
        `${flag}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
  };
  const files = { cert: read(config.tlsCert, '--tls-cert'), key: read(config.tlsKey, '--tls-key') };
  try {
    createSecureContext(files);
  } catch (e) {
    throw new ConfigError(`--tls-cert/--tls-key: ${(e as Error).message}`);
  }
  return files;
}
