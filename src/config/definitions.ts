/** One setting: its flag, environment variable, type, default and help line. */
export interface OptionDef {
  key: keyof HeraldConfig;
  flag: string;
  type: 'string' | 'number' | 'boolean' | 'list' | 'duration';
  /** For `string` settings with a fixed set of values. */
  choices?: readonly string[];
  help: string;
  short?: string;
}

/** Everything `herald serve` can be told. */
export interface HeraldConfig {
  port: number;
  host: string;
  path: string;
  jwtKey: string | undefined;
  publisherJwtKey: string | undefined;
  subscriberJwtKey: string | undefined;
  jwtKeyFile: string | undefined;
  publisherJwtKeyFile: string | undefined;
  subscriberJwtKeyFile: string | undefined;
  anonymous: boolean;
  /** Public URL of the hub (origin and path): base of relative URL patterns, reserved namespace. */
  hubUrl: string | undefined;
  /** Resource identifier draft-08 access tokens must name in `aud`; default hubUrl. */
  resource: string | undefined;
  /** Draft-08 issuers (`iss`) whose tokens are verified with the hub's JWT keys above. */
  tokenIssuers: string[];
  /** Draft-08 issuers with their own JWK Set: `ISSUER=FILE_OR_HTTPS_URL`. */
  issuerJwks: string[];
  corsOrigins: string[];
  redis: string | undefined;
  /** With --redis: publish what other processes XADD to `herald:ingest`. */
  redisIngest: boolean;
  history: number;
  /** ms */
  historyTtl: number;
  /** ms */
  heartbeat: number;
  maxBody: number;
  maxBuffered: number;
  maxSelectors: number;
  /** Most URI-template expressions in one subscription (summed over its templates). */
  maxTemplateExpressions: number;
  /** Distinct URI templates on this node (identical ones count once); 0 = no cap. */
  maxTemplates: number;
  /** Compiled size of those templates, bytes; 0 = no cap. */
  maxTemplateBytes: number;
  /** Template expressions one topic can be matched against (bounds CPU per publish); 0 = no cap. */
  maxExpressionsPerTopic: number;
  /** Most topics with a retained state. */
  maxStates: number;
  /** Largest retained state of one topic, bytes. */
  maxStateBytes: number;
  /** Open subscriptions on this node; 0 = no cap. */
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxConnectionsPerSubject: number;
  maxSubscribersPerSelector: number;
  /** ms a WebSocket may stay open without a subscription (publishers excepted); 0 = no deadline. */
  wsSubscribeTimeout: number;
  /** Updates per second per publisher; 0 = no limit. */
  publishRate: number;
  /** Token-bucket size; 0 = same as publishRate. */
  publishBurst: number;
  slowConsumer: 'disconnect' | 'drop';
  subscriptions: boolean;
  dev: boolean;
  demo: boolean;
  logLevel: string;
  dashboardDir: string | undefined;
  /** PEM certificate chain file: serve HTTPS with HTTP/2 (needs tlsKey). */
  tlsCert: string | undefined;
  /** PEM private key file for tlsCert. */
  tlsKey: string | undefined;
  /** Hub processes sharing the port (node:cluster); 1 = this process serves alone. */
  workers: number;
  /** When set, `/metrics` answers only requests with `Authorization: Bearer <this>`. */
  metricsToken: string | undefined;
  /** Most bytes all retained states may hold together (memory store). */
  maxStateTotalBytes: number;
}

export const defaults: HeraldConfig = {
  port: 3000,
  host: '0.0.0.0',
  path: '/.well-known/mercure',
  jwtKey: undefined,
  publisherJwtKey: undefined,
  subscriberJwtKey: undefined,
  jwtKeyFile: undefined,
  publisherJwtKeyFile: undefined,
  subscriberJwtKeyFile: undefined,
  anonymous: false,
  hubUrl: undefined,
  resource: undefined,
  tokenIssuers: [],
  issuerJwks: [],
  corsOrigins: [],
  redis: undefined,
  redisIngest: false,
  history: 1000,
  historyTtl: 0,
  heartbeat: 15_000,
  maxBody: 1024 * 1024,
  maxBuffered: 4 * 1024 * 1024,
  maxSelectors: 100,
  maxTemplateExpressions: 128,
  maxTemplates: 10_000,
  maxTemplateBytes: 32 * 1024 * 1024,
  maxExpressionsPerTopic: 256,
  maxStates: 10_000,
  maxStateBytes: 64 * 1024,
  maxConnections: 20_000,
  maxConnectionsPerIp: 0,
  maxConnectionsPerSubject: 0,
  maxSubscribersPerSelector: 0,
  wsSubscribeTimeout: 10_000,
  publishRate: 0,
  publishBurst: 0,
  slowConsumer: 'disconnect',
  subscriptions: false,
  dev: false,
  demo: false,
  logLevel: 'info',
  dashboardDir: undefined,
  tlsCert: undefined,
  tlsKey: undefined,
  workers: 1,
  metricsToken: undefined,
  maxStateTotalBytes: 128 * 1024 * 1024,
};

export const optionDefs: OptionDef[] = [
  { key: 'port', flag: 'port', short: 'p', type: 'number', help: 'TCP port (0 = any free port)' },
  { key: 'host', flag: 'host', type: 'string', help: 'address to bind' },
  { key: 'path', flag: 'path', type: 'string', help: 'hub path' },
  {
    key: 'jwtKey',
    flag: 'jwt-key',
    type: 'string',
    help: 'HS256/384/512 secret for publishers and subscribers',
  },
  {
    key: 'publisherJwtKey',
    flag: 'publisher-jwt-key',
    type: 'string',
    help: 'HS secret for publishers only',
  },
  {
    key: 'subscriberJwtKey',
    flag: 'subscriber-jwt-key',
    type: 'string',
    help: 'HS secret for subscribers only',
  },
  {
    key: 'jwtKeyFile',
    flag: 'jwt-key-file',
    type: 'string',
    help: 'PEM public key (RS/PS/ES/EdDSA) for both sides',
  },
  {
    key: 'publisherJwtKeyFile',
    flag: 'publisher-jwt-key-file',
    type: 'string',
    help: 'PEM public key for publishers',
  },
  {
    key: 'subscriberJwtKeyFile',
    flag: 'subscriber-jwt-key-file',
    type: 'string',
    help: 'PEM public key for subscribers',
  },
  {
    key: 'anonymous',
    flag: 'anonymous',
    type: 'boolean',
    help: 'let subscribers without a token receive public updates',
  },
  {
    key: 'hubUrl',
    flag: 'hub-url',
    type: 'string',
    help: 'public URL of the hub (default http://localhost{path}): relative URL patterns resolve against it',
  },
  {
    key: 'resource',
    flag: 'resource',
    type: 'string',
    help: 'resource identifier draft-08 access tokens must have in aud (default: --hub-url)',
  },
  {
    key: 'tokenIssuers',
    flag: 'token-issuers',
    type: 'list',
    help: 'draft-08 issuers (iss) whose access tokens are signed with the JWT keys above',
  },
  {
    key: 'issuerJwks',
    flag: 'issuer-jwks',
    type: 'list',
    help: 'draft-08 issuers with their own keys: ISSUER=JWKS_FILE_OR_HTTPS_URL, comma-separated',
  },
  {
    key: 'corsOrigins',
    flag: 'cors-origins',
    type: 'list',
    help: 'comma-separated origins allowed from browsers',
  },
  { key: 'redis', flag: 'redis', type: 'string', help: 'Redis URL: use the Redis broker (several nodes)' },
  {
    key: 'redisIngest',
    flag: 'redis-ingest',
    type: 'boolean',
    help: 'with --redis: publish updates any process XADDs to herald:ingest (docs/embedding.md)',
  },
  {
    key: 'workers',
    flag: 'workers',
    type: 'number',
    help: 'hub processes sharing the port, e.g. one per core (without --redis the first process relays updates and owns the retained state)',
  },
  { key: 'history', flag: 'history', type: 'number', help: 'updates kept for resume (0 = none)' },
  {
    key: 'historyTtl',
    flag: 'history-ttl',
    type: 'duration',
    help: 'drop history older than this (e.g. 10m; 0 = never)',
  },
  {
    key: 'heartbeat',
    flag: 'heartbeat',
    type: 'duration',
    help: 'heartbeat comment interval (seconds, or 15s/1m)',
  },
  { key: 'maxBody', flag: 'max-body', type: 'number', help: 'largest publish body in bytes' },
  {
    key: 'maxBuffered',
    flag: 'max-buffered',
    type: 'number',
    help: 'bytes queued per connection before it is cut',
  },
  {
    key: 'maxSelectors',
    flag: 'max-selectors',
    type: 'number',
    help: 'most topic selectors per subscription',
  },
  {
    key: 'maxTemplateExpressions',
    flag: 'max-template-expressions',
    type: 'number',
    help: 'most URI-template expressions per subscription, over all its templates (0 = no cap); over it: 400',
  },
  {
    key: 'maxTemplates',
    flag: 'max-templates',
    type: 'number',
    help: 'distinct URI templates on this node (0 = no cap); over it: 429',
  },
  {
    key: 'maxTemplateBytes',
    flag: 'max-template-bytes',
    type: 'number',
    help: 'compiled size of the distinct URI templates, bytes (0 = no cap); over it: 429',
  },
  {
    key: 'maxExpressionsPerTopic',
    flag: 'max-expressions-per-topic',
    type: 'number',
    help: 'URI-template expressions one topic can be matched against, bounding CPU per publish (0 = no cap); over it: 429',
  },
  {
    key: 'maxStates',
    flag: 'max-states',
    type: 'number',
    help: 'most topics with a retained state (retain / merge patch)',
  },
  {
    key: 'maxStateBytes',
    flag: 'max-state-bytes',
    type: 'number',
    help: 'largest retained state of one topic, in bytes',
  },
  {
    key: 'maxStateTotalBytes',
    flag: 'max-state-total-bytes',
    type: 'number',
    help: 'most bytes of heap all retained states may hold together, whatever their shape (507 above)',
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    type: 'number',
    help: 'open subscriptions on this node (0 = no cap); over it: 429',
  },
  {
    key: 'maxConnectionsPerIp',
    flag: 'max-connections-per-ip',
    type: 'number',
    help: 'open subscriptions per client IP (0 = no cap; behind a proxy all share its IP)',
  },
  {
    key: 'maxConnectionsPerSubject',
    flag: 'max-connections-per-subject',
    type: 'number',
    help: 'open subscriptions per JWT subject (sub) (0 = no cap)',
  },
  {
    key: 'maxSubscribersPerSelector',
    flag: 'max-subscribers-per-selector',
    type: 'number',
    help: 'subscriptions per topic selector (0 = no cap)',
  },
  {
    key: 'wsSubscribeTimeout',
    flag: 'ws-subscribe-timeout',
    type: 'duration',
    help: 'close a WebSocket (4408) that has not subscribed this long after connecting; publishers are exempt (0 = never)',
  },
  {
    key: 'publishRate',
    flag: 'publish-rate',
    type: 'number',
    help: 'updates/s per publisher (subject, else IP), token bucket (0 = no limit)',
  },
  {
    key: 'publishBurst',
    flag: 'publish-burst',
    type: 'number',
    help: 'updates a publisher may send at once above the rate (0 = same as --publish-rate)',
  },
  {
    key: 'slowConsumer',
    flag: 'slow-consumer',
    type: 'string',
    choices: ['disconnect', 'drop'],
    help: 'subscriber over --max-buffered: disconnect (it resumes) or drop updates and mark the gap',
  },
  {
    key: 'subscriptions',
    flag: 'subscriptions',
    type: 'boolean',
    help: 'publish subscription events (presence) as private updates',
  },
  { key: 'dev', flag: 'dev', type: 'boolean', help: 'dev mode: open dashboard, dev key, binds 127.0.0.1' },
  { key: 'demo', flag: 'demo', type: 'boolean', help: 'run a built-in demo publisher' },
  {
    key: 'logLevel',
    flag: 'log-level',
    type: 'string',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    help: 'JSON log verbosity',
  },
  { key: 'dashboardDir', flag: 'dashboard-dir', type: 'string', help: 'folder of the built dashboard' },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    type: 'string',
    help: 'PEM certificate file: serve HTTPS, HTTP/2 with HTTP/1.1 fallback (with --tls-key)',
  },
  { key: 'tlsKey', flag: 'tls-key', type: 'string', help: 'PEM private key file for --tls-cert' },
  {
    key: 'metricsToken',
    flag: 'metrics-token',
    type: 'string',
    help: 'keep /metrics private: answer only "Authorization: Bearer <token>" (else 401)',
  },
];

/** `jwt-key` -> `HERALD_JWT_KEY` */
export function envName(flag: string): string {
  return `HERALD_${flag.replace(/-/g, '_').toUpperCase()}`;
}
