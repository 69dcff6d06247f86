/** Settings of the HTTP layer (the CLI fills them from flags, env and config file). */
export interface HttpOptions {
  /** Public path of the Mercure endpoint (mount prefix included), `/.well-known/mercure` by default. */
  path: string;
  /** Prefix of the health and metrics routes (`{basePath}/healthz`...); '' for a hub at the root. */
  basePath: string;
  /** Serve the admin dashboard at `/dashboard` (only when `basePath` is ''). */
  dashboard: boolean;
  /** Origins allowed to call the hub from a browser; `*` allows any origin without credentials. */
  corsOrigins: string[];
  maxBodyBytes: number;
  /** Per-connection byte budget before the slow-consumer policy applies. */
  maxBufferedBytes: number;
  /** `retry:` hint (ms) sent to SSE clients when the hub shuts down. */
  shutdownRetryMs: number;
  /** Draft-07 cookie (`mercureAuthorization`). */
  cookieName: string;
  /** Draft-08 cookie (`__Secure-mercure_access_token`). */
  accessCookieName: string;
  /**
   * The hub's public URL (origin and path); relative URL patterns resolve against it. Default
   * `http://localhost{path}`.
   */
  hubUrl?: string;
  /** Resource identifier of draft-08 access tokens (`aud`), served in the RFC 9728 metadata; default hubUrl. */
  resource?: string;
  /** RFC 9728 `authorization_servers` of the metadata (left out when empty). */
  authorizationServers?: readonly string[];
  /** Subscription events and API are on (advertised in the metadata). */
  subscriptions?: boolean;
  /** Interval of WebSocket pings; a peer that has not answered the previous one is cut. 0 = off. */
  wsPingIntervalMs: number;
  /** A WebSocket without a subscription (or a publisher token) this long after its upgrade is closed (4408). 0 = never. */
  wsSubscribeTimeoutMs: number;
  /** Accept permessage-deflate from WebSocket clients that offer it (server_no_context_takeover). */
  wsDeflate: boolean;
  /** Dev mode: the dashboard is open and gets a dev admin token. */
  dev: boolean;
  /** Folder with the built dashboard (index.html and assets). */
  dashboardDir: string | undefined;
  /** Admin token handed to the dashboard in dev mode only. */
  devAdminToken?: string;
}

export const defaultHttpOptions: HttpOptions = {
  path: '/.well-known/mercure',
  basePath: '',
  dashboard: true,
  corsOrigins: [],
  maxBodyBytes: 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  shutdownRetryMs: 2000,
  cookieName: 'mercureAuthorization',
  accessCookieName: '__Secure-mercure_access_token',
  wsPingIntervalMs: 15_000,
  wsSubscribeTimeoutMs: 10_000,
  wsDeflate: true,
  dev: false,
  dashboardDir: undefined,
};
