import { SelectorSet, type Selector } from '../protocol/selector.ts';

/** Who is connected and what their token lets them do. Only the auth layer builds these. */
export interface Principal {
  /** `sub` claim (or `mercure.payload.sub`); undefined for anonymous or subject-less tokens. */
  readonly subject: string | undefined;
  readonly anonymous: boolean;
  /** Topics this principal may publish to; undefined means none. */
  readonly publish: SelectorSet | undefined;
  /** Topics whose private updates this principal may receive; undefined means none. */
  readonly subscribe: SelectorSet | undefined;
  /** `mercure.payload`, shown in presence. */
  readonly payload: unknown;
  /**
   * Draft-08 tokens: the payload shown for one subscription (that of the first `subscribe`
   * authorization detail matching the subscription's matcher); `payload` is then unused.
   */
  readonly payloadFor?: (selector: Selector) => unknown;
  /** Which Mercure revision the token follows; undefined for draft-07 and anonymous. */
  readonly dialect?: 'draft-08';
  /** Token expiry in ms since epoch; the hub closes the stream then. */
  readonly expiresAt: number | undefined;
  /** May see the dashboard and hub statistics. */
  readonly admin: boolean;
}

export const ANONYMOUS: Principal = Object.freeze({
  subject: undefined,
  anonymous: true,
  publish: undefined,
  subscribe: undefined,
  payload: undefined,
  expiresAt: undefined,
  admin: false,
});

/** The application itself (`hub.publish`) and the Redis ingest: may publish to any topic. */
export const SERVER_PRINCIPAL: Principal = Object.freeze({
  subject: 'herald:server',
  anonymous: false,
  publish: new SelectorSet(['*']),
  subscribe: undefined,
  payload: undefined,
  expiresAt: undefined,
  admin: false,
});

/** The payload presence shows for one of the principal's subscriptions. */
export function payloadOf(p: Principal, selector: Selector): unknown {
  return p.payloadFor ? p.payloadFor(selector) : p.payload;
}

export function mayReceivePrivate(p: Principal, topics: readonly string[]): boolean {
  return p.subscribe !== undefined && p.subscribe.matchesAny(topics);
}

export function mayPublish(p: Principal, topics: readonly string[]): boolean {
  return p.publish !== undefined && p.publish.matchesAll(topics);
}

/** A label for per-subject limits, logs and the dashboard. */
export function subjectLabel(p: Principal): string {
  return p.subject ?? (p.anonymous ? '(anonymous)' : '(no subject)');
}
