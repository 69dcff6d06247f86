/**
 * One setting: its flag, environment variable, type, default and help line. This table is the
 * one source of `herald serve --help` and of the README's flag table (scripts/flag-table.ts).
 */
export interface OptionDef {
  key: keyof HeraldConfig;
  flag: string;
  type: 'string' | 'number' | 'boolean' | 'list' | 'duration';
  /** For `string` settings with a fixed set of values. */
  choices?: readonly string[];
  /** One line; `code` in backticks (kept in the README, dropped in --help). */
  help: string;
  /** The default as shown, when `defaults[key]` alone would not say it (e.g. "memory broker"). */
  defaultText?: string;
  /** What the value is called in `--help` (`--jwt-key <secret>`); default from the type. */
  arg?: string;
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
  /** RFC 9728 `authorization_servers`: where clients get access tokens for this hub. */
  authorizationServers: string[];
  corsOrigins: string[];
  redis: string | undefined;
  /** With --redis: publish what other processes XADD to `herald:ingest`. */
  redisIngest: boolean;
  /** With a `redis+cluster://` URL: partitions of the update log (same on every node). */
  redisPartitions: number;
  /** Replicas that must confirm a publish before it is answered; 0 = do not wait. */
  redisWaitReplicas: number;
  /** ms */
  redisWaitTimeout: number;
  history: number;
  /** ms */
  historyTtl: number;
  /** ms; 0 = publishes are never recognised as retries */
  idempotencyWindow: number;
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
  /** Open subscriptions on this node (every `--workers` process together); 0 = no cap. */
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
  /** WebSocket permessage-deflate: each update compressed once per window size, shared by sockets. */
  wsDeflate: 'on' | 'off';
  subscriptions: boolean;
  /** With `--subscriptions` and `--redis`: a dead node's subscribers leave the list after this (ms). */
  presenceTtl: number;
  /** With `--subscriptions`: most presence changes waiting to go out; past it, a resync. */
  presenceMaxPending: number;
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
  authorizationServers: [],
  corsOrigins: [],
  redis: undefined,
  redisIngest: false,
  redisPartitions: 16,
  redisWaitReplicas: 0,
  redisWaitTimeout: 1000,
  history: 1000,
  historyTtl: 0,
  idempotencyWindow: 120_000,
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
  wsDeflate: 'on',
  subscriptions: false,
  presenceTtl: 15_000,
  presenceMaxPending: 10_000,
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
  {
    key: 'host',
    arg: 'address',
    flag: 'host',
    type: 'string',
    help: 'address to bind',
    defaultText: '0.0.0.0 (127.0.0.1 with `--dev`)',
  },
  { key: 'path', arg: 'path', flag: 'path', type: 'string', help: 'hub path' },
  {
    key: 'jwtKey',
    arg: 'secret',
    flag: 'jwt-key',
    type: 'string',
    help: 'HS256/384/512 secret for publishers and subscribers (at least 8 characters)',
  },
  {
    key: 'publisherJwtKey',
    arg: 'secret',
    flag: 'publisher-jwt-key',
    type: 'string',
    help: 'HS secret for publishers only',
  },
  {
    key: 'subscriberJwtKey',
    arg: 'secret',
    flag: 'subscriber-jwt-key',
    type: 'string',
    help: 'HS secret for subscribers only',
  },
  {
    key: 'jwtKeyFile',
    arg: 'file.pem',
    flag: 'jwt-key-file',
    type: 'string',
    help: 'PEM public key (RS/PS/ES/EdDSA) for both sides',
  },
  {
    key: 'publisherJwtKeyFile',
    arg: 'file.pem',
    flag: 'publisher-jwt-key-file',
    type: 'string',
    help: 'PEM public key for publishers',
  },
  {
    key: 'subscriberJwtKeyFile',
    arg: 'file.pem',
    flag: 'subscriber-jwt-key-file',
    type: 'string',
    help: 'PEM public key for subscribers',
  },
  {
    key: 'anonymous',
    flag: 'anonymous',
    type: 'boolean',
    help: 'subscribers without a token receive public updates',
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
    key: 'authorizationServers',
    arg: 'urls',
    flag: 'authorization-servers',
    type: 'list',
    help: 'authorization servers (issuer URLs) listed in the protected-resource metadata, comma-separated',
    defaultText: 'none',
  },
  {
    key: 'corsOrigins',
    arg: 'origins',
    flag: 'cors-origins',
    type: 'list',
    help: 'comma-separated origins allowed from browsers',
    defaultText: 'none',
  },
  {
    key: 'redis',
    arg: 'url',
    flag: 'redis',
    type: 'string',
    help: 'Redis URL: use the Redis broker (several nodes); redis+cluster://h1:p1,h2:p2 or redis+sentinel://s1:26379/service (docs/scaling.md)',
    defaultText: 'memory broker',
  },
  {
    key: 'redisPartitions',
    flag: 'redis-partitions',
    type: 'number',
    help: 'with a redis+cluster:// URL: partitions of the update log, same on every node',
    defaultText: '16',
  },
  {
    key: 'redisWaitReplicas',
    flag: 'redis-wait-replicas',
    type: 'number',
    help: 'with `--redis`: answer a publish only once this many replicas have it (Redis `WAIT`), else 503 (docs/scaling.md); 0 = answer once the primary has it',
  },
  {
    key: 'redisWaitTimeout',
    flag: 'redis-wait-timeout',
    type: 'duration',
    help: 'with `--redis-wait-replicas`: how long a publish waits for the replicas before it is answered 503',
  },
  {
    key: 'redisIngest',
    flag: 'redis-ingest',
    type: 'boolean',
    help: 'with `--redis`: publish updates any process `XADD`s to `herald:ingest` (docs/embedding.md)',
  },
  {
    key: 'workers',
    flag: 'workers',
    type: 'number',
    help: 'hub processes sharing the port, e.g. one per core; without `--redis` the first process relays updates, owns the retained state and keeps the history, and each worker keeps a copy to resume clients from',
  },
  { key: 'history', flag: 'history', type: 'number', help: 'updates kept for resume (0 = none)' },
  {
    key: 'historyTtl',
    flag: 'history-ttl',
    type: 'duration',
    help: 'drop history older than this (`10m`, `1h`; 0 = never)',
  },
  {
    key: 'idempotencyWindow',
    flag: 'idempotency-window',
    type: 'duration',
    help: 'a publish repeated within this long with the same `Idempotency-Key` header or update `id` gets the first answer and is not stored, delivered or counted again (0 = off)',
  },
  {
    key: 'heartbeat',
    flag: 'heartbeat',
    type: 'duration',
    help: 'heartbeat comment interval (`15`, `15s`, `500ms`)',
  },
  { key: 'maxBody', flag: 'max-body', type: 'number', help: 'largest publish body in bytes (413 above)' },
  {
    key: 'maxBuffered',
    flag: 'max-buffered',
    type: 'number',
    help: 'bytes queued per connection before the slow-consumer policy applies',
  },
  {
    key: 'slowConsumer',
    flag: 'slow-consumer',
    type: 'string',
    choices: ['disconnect', 'drop'],
    help: '`disconnect` (final event with `retry:`, client resumes) or `drop` (skip, then a `herald.dropped` marker)',
  },
  {
    key: 'wsDeflate',
    flag: 'ws-deflate',
    type: 'string',
    choices: ['on', 'off'],
    help: 'WebSocket permessage-deflate for clients that offer it (no context takeover: each update is compressed once, not per socket)',
  },
  {
    key: 'maxSelectors',
    flag: 'max-selectors',
    type: 'number',
    help: 'most topic selectors per subscription (400 above)',
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
    help: 'distinct URI templates and URL patterns on this node (0 = no cap); over it: 429',
  },
  {
    key: 'maxTemplateBytes',
    flag: 'max-template-bytes',
    type: 'number',
    help: 'compiled size of the distinct URI templates and URL patterns, bytes (0 = no cap); over it: 429',
  },
  {
    key: 'maxExpressionsPerTopic',
    flag: 'max-expressions-per-topic',
    type: 'number',
    help: 'URI-template expressions (and, apart, URL-pattern groups and wildcards) one topic can be matched against, bounding CPU per publish (0 = no cap); over it: 429',
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
    help: 'open subscriptions on this node, all `--workers` together (429 above; 0 = no cap); unset, it fits `ulimit -n` less 5 % (at least 64) kept for the hub itself, per worker; set above that, a startup warning',
    defaultText: '20000 or what ulimit -n allows, per worker',
  },
  {
    key: 'maxConnectionsPerIp',
    flag: 'max-connections-per-ip',
    type: 'number',
    help: 'open subscriptions per client IP on this node, all `--workers` together (0 = no cap; behind a proxy all share its IP)',
  },
  {
    key: 'maxConnectionsPerSubject',
    flag: 'max-connections-per-subject',
    type: 'number',
    help: 'open subscriptions per JWT `sub` on this node, all `--workers` together (0 = no cap)',
  },
  {
    key: 'maxSubscribersPerSelector',
    flag: 'max-subscribers-per-selector',
    type: 'number',
    help: 'subscriptions per topic selector on this node, all `--workers` together (0 = no cap)',
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
    help: 'updates/s per publisher (subject, else IP), token bucket (429 above; 0 = no limit)',
  },
  {
    key: 'publishBurst',
    flag: 'publish-burst',
    type: 'number',
    help: 'bucket size (0 = same as `--publish-rate`)',
  },
  {
    key: 'subscriptions',
    flag: 'subscriptions',
    type: 'boolean',
    help: 'publish subscription events (presence) as private updates',
  },
  {
    key: 'presenceTtl',
    flag: 'presence-ttl',
    type: 'duration',
    help: "with `--subscriptions` and `--redis`: a dead node's subscribers drop out of the subscriptions API after this, and their leave events go out within a third more (`15s`)",
  },
  {
    key: 'presenceMaxPending',
    flag: 'presence-max-pending',
    type: 'number',
    help: 'with `--subscriptions`: most subscription changes waiting to be announced; past it they are dropped and the node re-announces its subscribers from its live state (memory bound under churn)',
  },
  {
    key: 'maxStates',
    flag: 'max-states',
    type: 'number',
    help: 'most topics with a retained state (507 above)',
  },
  {
    key: 'maxStateBytes',
    flag: 'max-state-bytes',
    type: 'number',
    help: 'largest retained state of one topic (413 above)',
  },
  {
    key: 'dev',
    flag: 'dev',
    type: 'boolean',
    help: 'dev mode, for one machine: a dev key unless `--jwt-key`, `--anonymous` on, the dashboard signs itself in, binds 127.0.0.1, readable logs on a terminal',
  },
  { key: 'demo', flag: 'demo', type: 'boolean', help: 'run a built-in demo publisher' },
  {
    key: 'logLevel',
    arg: 'level',
    flag: 'log-level',
    type: 'string',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    help: 'fatal, error, warn, info, debug, trace or silent; JSON lines (readable lines with `--dev` on a terminal)',
  },
  {
    key: 'dashboardDir',
    arg: 'dir',
    flag: 'dashboard-dir',
    type: 'string',
    help: 'folder of the built dashboard',
    defaultText: 'dashboard/dist',
  },
  {
    key: 'tlsCert',
    arg: 'file.pem',
    flag: 'tls-cert',
    type: 'string',
    help: 'PEM certificate file: serve HTTPS with HTTP/2 (HTTP/1.1 fallback, WebSocket over HTTP/1.1); needs `--tls-key`',
    defaultText: 'plain HTTP',
  },
  {
    key: 'tlsKey',
    arg: 'file.pem',
    flag: 'tls-key',
    type: 'string',
    help: 'PEM private key file for `--tls-cert` (`npm run dev:cert` makes a self-signed pair)',
  },
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
