/** What the bench needs to know about a running system under test. */

/** How load-generator clients talk to a system. */
export type ClientKind = 'sse' | 'ws' | 'socketio';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** One HTTP request the publisher sends. */
export interface PublishRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Serializable description of where and how a subscriber connects (sent to loadgen workers). */
export interface SubscribeTarget {
  readonly kind: ClientKind;
  /** Nodes to spread subscribers over, round-robin. */
  readonly nodes: readonly Endpoint[];
  /** For SSE: path with `{topic}` replaced by the URL-encoded topic; for `ws`: the upgrade path. */
  readonly pathTemplate: string;
}

export interface RunningSystem {
  readonly name: string;
  readonly target: SubscribeTarget;
  /**
   * Where WebSocket subscribers connect, for the WebSocket scenarios: Herald's `/ws` dialect
   * (kind `ws`) or Socket.IO's websocket transport (kind `socketio`). Absent: no WebSocket.
   */
  readonly wsTarget?: SubscribeTarget;
  /** Node publishers send to. */
  readonly publishNode: Endpoint;
  /** Server process ids, summed for RSS and CPU. */
  pids(): number[];
  /** Most descriptors one server process may hold (its `ulimit -n`). */
  readonly fdLimit: number;
  /** Processes that hold subscriber connections (node:cluster workers, nodes); default 1. */
  readonly connectionProcesses?: number;
  /** Hub processes only (no Redis), in `target.nodes` order; default `pids()`. */
  nodePids?(): number[];
  /** Ports of the Redis servers behind the hub (every shard), for `INFO` counters. */
  readonly redisPorts?: readonly number[];
  /** True when the system replays missed updates after `Last-Event-ID`. */
  readonly resumes: boolean;
  publishRequest(topic: string, data: string): PublishRequest;
  /** A request publishing many updates at once, or undefined when the system has no batch API. */
  batchRequest?(items: ReadonlyArray<{ topic: string; data: string }>): PublishRequest;
  stop(): Promise<void>;
}

/** A system the bench can start; `available()` explains why not when it cannot. */
export interface SystemUnderTest {
  readonly name: string;
  /** Undefined when available, else a one-line reason for the "not available" row. */
  available(): Promise<string | undefined>;
  /** Scenarios this system takes part in; all when absent. */
  readonly onlyScenarios?: readonly string[];
  start(): Promise<RunningSystem>;
}

/** Mercure-style subscribe path, used by Herald and the hand-written baselines. */
export const MERCURE_SUBSCRIBE = '/.well-known/mercure?topic={topic}';

/** Form-encoded Mercure publish request. */
export function mercureForm(topic: string, data: string, headers: Record<string, string> = {}): PublishRequest {
  return {
    path: '/.well-known/mercure',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: `topic=${encodeURIComponent(topic)}&data=${encodeURIComponent(data)}`,
  };
}

/** JSON batch publish (Herald extension; the baselines accept it too). */
export function mercureBatch(
  items: ReadonlyArray<{ topic: string; data: string }>,
  headers: Record<string, string> = {},
): PublishRequest {
  return {
    path: '/.well-known/mercure',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(items.map((i) => ({ topics: [i.topic], data: i.data }))),
  };
}
