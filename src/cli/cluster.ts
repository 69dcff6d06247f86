import cluster, { type Worker } from 'node:cluster';
import { pino } from 'pino';
import {
  ClusterBroker,
  ClusterRelay,
  type ClusterLink,
  type FromRelay,
  type ToRelay,
} from '../broker/cluster.ts';
import {
  ClusterStateStore,
  serveState,
  type FromStateOwner,
  type ToStateOwner,
} from '../broker/cluster-state.ts';
import { MemoryBroker } from '../broker/memory.ts';
import { PrimaryNodeView, WorkerNodeView, type FromNodeView, type ToNodeView } from './node-view.ts';
import { MemoryStateStore } from '../broker/memory-state.ts';
import type { StateStore } from '../broker/state-store.ts';
import type { HeraldConfig } from '../config/definitions.ts';
import type { Broker } from '../broker/broker.ts';

/** Most unexpected worker exits per minute before the primary gives up (a crash loop). */
const MAX_RESTARTS_PER_MINUTE = 5;
const STOP_GRACE_MS = 12_000;

/** This process is a worker of `--workers N`. */
export const isClusterWorker = (): boolean => cluster.isWorker;

/**
 * The broker of a worker: Redis when configured (every worker is then simply a node of a
 * Redis cluster), otherwise a ClusterBroker talking to the primary over IPC.
 */
export function workerBroker(config: HeraldConfig): Broker | undefined {
  if (config.redis) return undefined;
  return new ClusterBroker(primaryLink<ToRelay>(), {
    historySize: config.history,
    historyTtlMs: config.historyTtl,
  });
}

/**
 * The state store of a worker: with Redis the hub builds its own (shared in Redis), otherwise
 * the primary's store, so that every worker's changes go through one owner.
 */
export function workerStateStore(config: HeraldConfig): StateStore | undefined {
  if (config.redis) return undefined;
  return new ClusterStateStore(primaryLink<ToStateOwner>());
}

/** A worker's view of the whole node (caps, stats and `/metrics` over every worker). */
export function workerNodeView(): WorkerNodeView {
  // The hub's stats interval (1 s): each worker reports its snapshot that often.
  return new WorkerNodeView(primaryLink<ToNodeView>(), cluster.worker?.id ?? 0, 1000);
}

/** A message to a process that is exiting is dropped: it is gone, and so is its need for it. */
function ignoreSendError(): void {}

function primaryLink<Out>(): ClusterLink<Out, unknown> {
  return {
    // With a callback, a send on a closing channel reports to it instead of emitting an
    // 'error' that nothing handles (which would end the process).
    send: (m) => process.send?.(m, undefined, undefined, ignoreSendError),
    listen(onMessage) {
      process.on('message', onMessage);
      return () => process.off('message', onMessage);
    },
    get connected() {
      return process.connected;
    },
  };
}

function workerLink(worker: Worker): ClusterLink<FromRelay & FromStateOwner & FromNodeView, unknown> {
  return {
    send: (m) => worker.send(m, undefined, ignoreSendError),
    listen(onMessage) {
      worker.on('message', onMessage);
      return () => worker.off('message', onMessage);
    },
    get connected() {
      return worker.isConnected();
    },
  };
}

/**
 * The primary of `herald serve --workers N`: forks N workers that share the listening port
 * (node:cluster hands accepted connections out round-robin) and, without Redis, relays every
 * update between them and keeps the one history. Runs until SIGTERM/SIGINT, then stops the
 * workers gracefully.
 */
export async function runPrimary(config: HeraldConfig): Promise<void> {
  const logger = pino({ level: config.logLevel, base: { service: 'herald', role: 'primary' } });
  const relay = config.redis
    ? undefined
    : new ClusterRelay(
        new MemoryBroker({
          historySize: config.history,
          historyTtlMs: config.historyTtl,
          idempotencyWindowMs: config.idempotencyWindow,
        }),
      );
  await relay?.start();
  // Without Redis the primary also owns the retained state (see workerStateStore).
  const state = config.redis
    ? undefined
    : new MemoryStateStore({
        limits: {
          maxTopics: config.maxStates,
          maxStateBytes: config.maxStateBytes,
          maxTotalBytes: config.maxStateTotalBytes,
        },
        idempotencyWindowMs: config.idempotencyWindow,
      });
  const nodeView = new PrimaryNodeView();
  let stopping = false;
  const restarts: number[] = [];

  const fork = (): void => {
    const worker = cluster.fork();
    const detach = relay?.attach(workerLink(worker));
    const detachState = state && serveState(workerLink(worker), state);
    const detachView = nodeView.attach(worker.id, workerLink(worker));
    worker.on('exit', (code, signal) => {
      detach?.();
      detachState?.();
      detachView();
      if (stopping) return;
      logger.error(
        { event: 'worker.exit', pid: worker.process.pid, code, signal },
        'worker died; starting another',
      );
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
      if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
        logger.error('workers keep dying; giving up');
        stop('crash-loop', 1);
        return;
      }
      fork();
    });
  };
  for (let i = 0; i < config.workers; i++) fork();
  logger.info(
    { event: 'cluster', workers: config.workers, broker: config.redis ? 'redis' : 'cluster' },
    `herald primary: ${config.workers} workers`,
  );

  const stop = (signal: string, code = 0): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'stopping workers');
    const force = setTimeout(() => {
      logger.error('workers did not stop in time; killing them');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    }, STOP_GRACE_MS);
    force.unref();
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    void Promise.all(
      alive.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      ),
    ).then(async () => {
      await relay?.close();
      process.exit(code);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
