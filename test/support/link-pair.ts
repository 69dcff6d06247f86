import type { ClusterLink } from '../../src/broker/cluster.ts';

/**
 * A worker <-> primary channel inside one process: ordered, and asynchronous like IPC (each
 * message arrives on a later turn), so nothing here passes only because calls are synchronous.
 */
export function linkPair(): {
  worker: ClusterLink<never, unknown>;
  primary: ClusterLink<never, unknown>;
  cut(): void;
} {
  let connected = true;
  const side = () => {
    let handler: ((m: unknown) => void) | undefined;
    return {
      deliver(m: unknown) {
        setImmediate(() => {
          if (connected) handler?.(structuredClone(m));
        });
      },
      listen(fn: (m: unknown) => void) {
        handler = fn;
        return () => {
          handler = undefined;
        };
      },
    };
  };
  const toWorker = side();
  const toPrimary = side();
  return {
    worker: {
      send: (m) => toPrimary.deliver(m),
      listen: (fn) => toWorker.listen(fn),
      get connected() {
        return connected;
      },
    },
    primary: {
      send: (m) => toWorker.deliver(m),
      listen: (fn) => toPrimary.listen(fn),
      get connected() {
        return connected;
      },
    },
    cut() {
      connected = false;
    },
  };
}
