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
    help: 'Redis URL: use the Redis broker (several nodes)',
    defaultText: 'memory broker',
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
    help: 'hub processes sharing the port, e.g. one per core; without `--redis` the first process relays updates and keeps the history, and each worker keeps a copy to resume clients from',
  },
  { key: 'history', flag: 'history', type: 'number', help: 'updates kept for resume (0 = none)' },
  {
    key: 'historyTtl',
    flag: 'history-ttl',
    type: 'duration',
    help: 'drop history older than this (`10m`, `1h`; 0 = never)',
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
    key: 'maxSelectors',
    flag: 'max-selectors',
    type: 'number',
    help: 'most topic selectors per subscription (400 above)',
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    type: 'number',
    help: 'open subscriptions on this node (429 above; 0 = no cap)',
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
    help: 'open subscriptions per JWT `sub` (0 = no cap)',
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
];

/** `jwt-key` -> `HERALD_JWT_KEY` */
export function envName(flag: string): string {
  return `HERALD_${flag.replace(/-/g, '_').toUpperCase()}`;
}
