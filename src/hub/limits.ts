import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { CapKey, NodeView } from './node-view.ts';

/** Connection caps; 0 means "no cap". Enforced by the hub, so every transport obeys them. */
export interface ConnectionLimits {
  /** Open connections on this node: SSE subscriptions, and WebSockets from their upgrade. */
  maxConnections: number;
  /** Open connections from one client IP. */
  maxPerIp: number;
  /** Open subscriptions of one JWT subject (`sub`); subject-less tokens are not counted. */
  maxPerSubject: number;
  /** Subscriptions listening to one selector (`*`, an exact topic or a template). */
  maxPerSelector: number;
  /** `Retry-After` (seconds) sent with a 429. */
  retryAfterSeconds: number;
}

export const unlimitedConnections: ConnectionLimits = {
  maxConnections: 0,
  maxPerIp: 0,
  maxPerSubject: 0,
  maxPerSelector: 0,
  retryAfterSeconds: 5,
};

/** What one connection counts against. Kept on the subscription so release mirrors admit. */
export interface AdmissionTicket {
  ip: string | undefined;
  subject: string | undefined;
  /** Distinct selector sources. */
  selectors: readonly string[];
  /**
   * The connection already holds a seat (a WebSocket, from its upgrade): this ticket counts
   * against the per-subject and per-selector caps only, not the total or the per-IP one.
   */
  seated?: boolean;
}

/** What admission needs of the node's other processes. */
type AdmissionNode = Pick<
  NodeView,
  'othersConnections' | 'connectionsChanged' | 'othersHolding' | 'keyChanged'
>;

/**
 * Counts open connections per key and refuses (429) the one that would go over a cap. Admit
 * and release must be paired; the hub does both in register/unregister.
 */
export class ConnectionAdmission {
  readonly #limits: ConnectionLimits;
  #total = 0;
  readonly #byIp = new Map<string, number>();
  readonly #bySubject = new Map<string, number>();
  readonly #bySelector = new Map<string, number>();
  readonly #node: AdmissionNode | undefined;

  /** With `node`, every cap counts the other processes' connections too (`--workers`). */
  constructor(limits: ConnectionLimits, node?: AdmissionNode) {
    this.#limits = limits;
    this.#node = node;
  }

  /** Reserves one slot under every cap, or throws a 429 HeraldError naming the cap. */
  admit(ticket: AdmissionTicket): void {
    const l = this.#limits;
    const seat = ticket.seated !== true;
    if (
      seat &&
      l.maxConnections > 0 &&
      this.#total + (this.#node?.othersConnections() ?? 0) >= l.maxConnections
    )
      throw this.#refuse(`hub is at its connection limit (${l.maxConnections})`);
    if (
      seat &&
      l.maxPerIp > 0 &&
      ticket.ip !== undefined &&
      this.#held('ip', this.#byIp, ticket.ip) >= l.maxPerIp
    )
      throw this.#refuse(`too many connections from this address (limit ${l.maxPerIp})`);
    if (
      l.maxPerSubject > 0 &&
      ticket.subject !== undefined &&
      this.#held('subject', this.#bySubject, ticket.subject) >= l.maxPerSubject
    )
      throw this.#refuse(`too many connections for this subject (limit ${l.maxPerSubject})`);
    if (l.maxPerSelector > 0) {
      for (const s of ticket.selectors) {
        if (this.#held('selector', this.#bySelector, s) >= l.maxPerSelector)
          throw this.#refuse(
            `too many subscribers to selector ${JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s)} (limit ${l.maxPerSelector})`,
          );
      }
    }
    this.#count(ticket, 1);
  }

  release(ticket: AdmissionTicket): void {
    this.#count(ticket, -1);
  }

  #count(ticket: AdmissionTicket, by: 1 | -1): void {
    const l = this.#limits;
    if (ticket.seated !== true) {
      this.#total += by;
      if (ticket.ip !== undefined) this.#bump('ip', this.#byIp, ticket.ip, by, l.maxPerIp);
      this.#node?.connectionsChanged(this.#total);
    }
    if (ticket.subject !== undefined)
      this.#bump('subject', this.#bySubject, ticket.subject, by, l.maxPerSubject);
    for (const s of ticket.selectors) this.#bump('selector', this.#bySelector, s, by, l.maxPerSelector);
  }

  /** This process's count for a key plus the other processes' (`--workers`). */
  #held(kind: CapKey, map: Map<string, number>, key: string): number {
    return (map.get(key) ?? 0) + (this.#node?.othersHolding(kind, key) ?? 0);
  }

  #bump(kind: CapKey, map: Map<string, number>, key: string, by: 1 | -1, cap: number): void {
    bump(map, key, by);
    // Only keys under a cap travel to the other processes: an unused cap costs no messages.
    if (cap > 0) this.#node?.keyChanged(kind, key, by);
  }

  /** Connections counted against the total (for tests and the dashboard). */
  get total(): number {
    return this.#total;
  }

  /** Number of keys tracked per map: must return to 0 when every connection is gone. */
  get trackedKeys(): number {
    return this.#byIp.size + this.#bySubject.size + this.#bySelector.size;
  }

  #refuse(message: string): HeraldError {
    return new HeraldError(ErrorCode.tooManyConnections, message, {
      retryAfter: this.#limits.retryAfterSeconds,
    });
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  // Deleting at zero keeps the maps as small as the set of connected clients.
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

/** Publish rate per publisher: a token bucket refilled at `ratePerSecond`, holding `burst`. */
export interface PublishRateOptions {
  /** Updates per second per publisher; 0 disables the limit. */
  ratePerSecond: number;
  /** Bucket size; 0 means "same as the rate" (one second's worth). */
  burst: number;
  /** Most publishers tracked at once; idle full buckets are forgotten first. */
  maxKeys?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets keyed by publisher. A batch costs one token per update; a batch larger than
 * the burst is let through only from a full bucket and leaves it in debt, so the average rate
 * holds whatever the batch size.
 */
export class PublishRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: PublishRateOptions) {
    this.#rate = options.ratePerSecond;
    this.#burst = options.burst > 0 ? options.burst : Math.max(1, options.ratePerSecond);
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.#rate > 0;
  }

  /** Takes `cost` tokens for `key`, or throws a 429 HeraldError with the wait in Retry-After. */
  take(key: string, cost: number): void {
    if (this.#rate <= 0) return;
    const now = this.#now();
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.#maxKeys) this.#evict(now);
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
      b.at = now;
    }
    const needed = Math.min(cost, this.#burst);
    if (b.tokens < needed) {
      const wait = Math.max(1, Math.ceil((needed - b.tokens) / this.#rate));
      throw new HeraldError(
        ErrorCode.rateLimited,
        `publish rate limit: ${this.#rate} updates/s (burst ${this.#burst}); retry in ${wait}s`,
        { retryAfter: wait },
      );
    }
    b.tokens -= cost;
  }

  get trackedKeys(): number {
    return this.#buckets.size;
  }

  #evict(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.#rate >= this.#burst) this.#buckets.delete(key);
    }
    // Still full of active publishers: forget the oldest-created ones rather than grow.
    const excess = this.#buckets.size - this.#maxKeys + 1;
    if (excess > 0) {
      let n = 0;
      for (const key of this.#buckets.keys()) {
        if (n++ >= excess) break;
        this.#buckets.delete(key);
      }
    }
  }
}
