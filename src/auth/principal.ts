import { SelectorSet } from '../protocol/selector.ts';

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
