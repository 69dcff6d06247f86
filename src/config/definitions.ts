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
  corsOrigins: string[];
  redis: string | undefined;
  /** With --redis: publish what other processes XADD to `herald:ingest`. */
  redisIngest: boolean;
  /** With a `redis+cluster://` URL: partitions of the update log (same on every node). */
  redisPartitions: number;
  history: number;
  /** ms */
  historyTtl: number;
  /** ms */
  heartbeat: number;
  maxBody: number;
  maxBuffered: number;
  maxSelectors: number;
  /** Most topics with a retained state. */
  maxStates: number;
  /** Largest retained state of one topic, bytes. */
  maxStateBytes: number;
  /** Open subscriptions on this node; 0 = no cap. */
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxConnectionsPerSubject: number;
  maxSubscribersPerSelector: number;
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
  corsOrigins: [],
  redis: undefined,
  redisIngest: false,
  redisPartitions: 16,
  history: 1000,
  historyTtl: 0,
  heartbeat: 15_000,
  maxBody: 1024 * 1024,
  maxBuffered: 4 * 1024 * 1024,
  maxSelectors: 100,
  maxStates: 10_000,
  maxStateBytes: 64 * 1024,
  maxConnections: 20_000,
  maxConnectionsPerIp: 0,
  maxConnectionsPerSubject: 0,
  maxSubscribersPerSelector: 0,
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
    key: 'corsOrigins',
    flag: 'cors-origins',
    type: 'list',
    help: 'comma-separated origins allowed from browsers',
  },
  {
    key: 'redis',
    flag: 'redis',
    type: 'string',
    help: 'Redis URL: use the Redis broker (several nodes); redis+cluster://h1:p1,h2:p2 or redis+sentinel://s1:26379/service (docs/scaling.md)',
  },
  {
    key: 'redisPartitions',
    flag: 'redis-partitions',
    type: 'number',
    help: 'with a redis+cluster:// URL: partitions of the update log, same on every node (default 16)',
  },
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
    help: 'hub processes sharing the port, e.g. one per core (without --redis the first process relays updates between them)',
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
];

/** `jwt-key` -> `HERALD_JWT_KEY` */
export function envName(flag: string): string {
  return `HERALD_${flag.replace(/-/g, '_').toUpperCase()}`;
}
