import type { PublishInput, Update } from '../protocol/update.ts';

/** Result of reading history after a given id. */
export interface HistoryPage {
  /** False when the id is unknown or evicted: the caller may have missed updates. */
  found: boolean;
  /** Updates after the id, oldest first. */
  updates: Update[];
  /**
   * The update the id names, when found: the hub checks that the subscriber may see it
   * before it confirms the id (a private one must look unknown to others).
   */
  from?: Update;
  /**
   * True when the id was found but some updates after it are gone (trimmed by count or age
   * in a part of the log): the page is what is left, and the caller missed the rest.
   */
  truncated?: boolean;
}

/** Updates this node's subscribers may have missed (a catch-up past trimming, a rewound log). */
export interface BrokerGap {
  /** `trimmed` | `log-rewound` */
  reason: string;
}

/** Whether a backend (broker, state store) can serve now. */
export interface BrokerHealth {
  /** `memory` | `redis` | `cluster` for Herald's own; anything for an embedder's. */
  kind: string;
  ready: boolean;
  /** Why not, for the logs only: it may name an address. */
  detail?: string;
}

/**
 * Optional next to `Broker` and `StateStore`: a backend that can tell whether it is
 * connected. `/readyz`, `herald_broker_up` and the stats ask every backend that has it; one
 * without it (an embedder's own broker, the in-memory ones) counts as always ready.
 *
 * Contract: `health()` is cheap (no I/O; it reports what the backend already knows) and
 * says `ready: false` while the backend cannot serve a request.
 */
export interface HealthReporting {
  readonly kind: string;
  health(): BrokerHealth;
}

export function reportsHealth(backend: object): backend is HealthReporting {
  return typeof (backend as Partial<HealthReporting>).health === 'function';
}

/** A backend's health, `ready` when it cannot tell. */
export function healthOf(backend: object, fallbackKind = 'custom'): BrokerHealth {
  return reportsHealth(backend) ? backend.health() : { kind: kindOf(backend, fallbackKind), ready: true };
}

/** A backend's kind for messages and labels. */
export function kindOf(backend: object, fallbackKind = 'custom'): string {
  const kind = (backend as { kind?: unknown }).kind;
  return typeof kind === 'string' ? kind : fallbackKind;
}

/**
 * The seam between one node and the rest of the cluster. One per node, never one per
 * connection.
 *
 * Contract: `publish` stores each update in history and sends it to every node (this one
 * included) as one atomic step, and resolves only once the update is durable in the
 * broker's terms; if it cannot store, it rejects and nothing is delivered. Every node's
 * handler sees every update exactly once, in the hub-wide order.
 */
export interface Broker {
  /** `onGap` hears of updates lost between the broker and this node (a catch-up that came too late). */
  start(onUpdate: (update: Update) => void, onGap?: (gap: BrokerGap) => void): Promise<void>;
  /** Assigns ids (when absent) and positions; resolves with the stored updates, in order. */
  publish(inputs: readonly PublishInput[]): Promise<Update[]>;
  /** Updates after `lastEventId` (`earliest` = everything retained), up to `limit`. */
  historyAfter(lastEventId: string, limit: number): Promise<HistoryPage>;
  close(): Promise<void>;
}
