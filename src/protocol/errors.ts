/** Stable error codes: tests and clients assert on these, never on message text. */
export const ErrorCode = {
  badRequest: 'HERALD_ERR_BAD_REQUEST',
  missingTopic: 'HERALD_ERR_MISSING_TOPIC',
  badSelector: 'HERALD_ERR_BAD_SELECTOR',
  badTopic: 'HERALD_ERR_BAD_TOPIC',
  badId: 'HERALD_ERR_BAD_ID',
  badType: 'HERALD_ERR_BAD_TYPE',
  badRetry: 'HERALD_ERR_BAD_RETRY',
  badData: 'HERALD_ERR_BAD_DATA',
  badBody: 'HERALD_ERR_BAD_BODY',
  tooManySelectors: 'HERALD_ERR_TOO_MANY_SELECTORS',
  unsupportedMediaType: 'HERALD_ERR_UNSUPPORTED_MEDIA_TYPE',
  bodyTooLarge: 'HERALD_ERR_BODY_TOO_LARGE',
  unauthorized: 'HERALD_ERR_UNAUTHORIZED',
  tokenExpired: 'HERALD_ERR_TOKEN_EXPIRED',
  forbiddenTopic: 'HERALD_ERR_FORBIDDEN_TOPIC',
  forbiddenOrigin: 'HERALD_ERR_FORBIDDEN_ORIGIN',
  notFound: 'HERALD_ERR_NOT_FOUND',
  methodNotAllowed: 'HERALD_ERR_METHOD_NOT_ALLOWED',
  tooManyConnections: 'HERALD_ERR_TOO_MANY_CONNECTIONS',
  /** The node's budget for URI templates (count, compiled size, or work per topic) is used up. */
  templateBudget: 'HERALD_ERR_TEMPLATE_BUDGET',
  rateLimited: 'HERALD_ERR_RATE_LIMITED',
  brokerUnavailable: 'HERALD_ERR_BROKER_UNAVAILABLE',
  shuttingDown: 'HERALD_ERR_SHUTTING_DOWN',
  slowConsumer: 'HERALD_ERR_SLOW_CONSUMER',
  badPatch: 'HERALD_ERR_BAD_PATCH',
  badThrottle: 'HERALD_ERR_BAD_THROTTLE',
  stateTooLarge: 'HERALD_ERR_STATE_TOO_LARGE',
  tooManyStates: 'HERALD_ERR_TOO_MANY_STATES',
  internal: 'HERALD_ERR_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const statusOf: Record<ErrorCode, number> = {
  HERALD_ERR_BAD_REQUEST: 400,
  HERALD_ERR_MISSING_TOPIC: 400,
  HERALD_ERR_BAD_SELECTOR: 400,
  HERALD_ERR_BAD_TOPIC: 400,
  HERALD_ERR_BAD_ID: 400,
  HERALD_ERR_BAD_TYPE: 400,
  HERALD_ERR_BAD_RETRY: 400,
  HERALD_ERR_BAD_DATA: 400,
  HERALD_ERR_BAD_BODY: 400,
  HERALD_ERR_TOO_MANY_SELECTORS: 400,
  HERALD_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  HERALD_ERR_BODY_TOO_LARGE: 413,
  HERALD_ERR_UNAUTHORIZED: 401,
  HERALD_ERR_TOKEN_EXPIRED: 401,
  HERALD_ERR_FORBIDDEN_TOPIC: 403,
  HERALD_ERR_FORBIDDEN_ORIGIN: 403,
  HERALD_ERR_NOT_FOUND: 404,
  HERALD_ERR_METHOD_NOT_ALLOWED: 405,
  HERALD_ERR_TOO_MANY_CONNECTIONS: 429,
  HERALD_ERR_TEMPLATE_BUDGET: 429,
  HERALD_ERR_RATE_LIMITED: 429,
  HERALD_ERR_BROKER_UNAVAILABLE: 503,
  HERALD_ERR_SHUTTING_DOWN: 503,
  HERALD_ERR_SLOW_CONSUMER: 503,
  HERALD_ERR_BAD_PATCH: 400,
  HERALD_ERR_BAD_THROTTLE: 400,
  HERALD_ERR_STATE_TOO_LARGE: 413,
  HERALD_ERR_TOO_MANY_STATES: 507,
  HERALD_ERR_INTERNAL: 500,
};

/**
 * The RFC 6750 `error` of a `WWW-Authenticate: Bearer` challenge; `none` is a challenge
 * without one (no token was presented).
 */
export type BearerError = 'none' | 'invalid_token' | 'insufficient_scope' | 'invalid_request';

/**
 * An error meant for the caller: a stable code, the HTTP status it maps to and a one-line
 * reason that says what to fix.
 *
 * `message` goes to the client; `logMessage` is what logs get. They differ in two ways: a
 * reason that quotes what the client sent (a body, a patch's keys) gets a log line without
 * it, since nothing of a payload may reach the logs; and a reason that names the hub's own
 * infrastructure (a broker's address) keeps that detail in the log line only.
 */
export class HeraldError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait before retrying (429/503). */
  readonly retryAfter: number | undefined;
  /** The reason as logs may show it (see above); the message itself unless set. */
  readonly logMessage: string;
  /**
   * The Bearer challenge's error, when it is not the one the status implies (401:
   * `invalid_token`, 403 on a topic: `insufficient_scope`, others: no challenge).
   */
  readonly bearer: BearerError | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retryAfter?: number; logMessage?: string; bearer?: BearerError } = {},
  ) {
    super(message);
    this.name = 'HeraldError';
    this.code = code;
    this.status = statusOf[code];
    this.retryAfter = options.retryAfter;
    this.logMessage = options.logMessage ?? message;
    this.bearer = options.bearer;
  }
}

/** A JSON parse failure, for the client (with the parser's words) and for logs (position only). */
export function invalidJson(code: ErrorCode, what: string, e: unknown): HeraldError {
  const detail = e instanceof Error ? e.message : String(e);
  // The parser quotes the text around the error; only the position may be logged.
  const at = /position (\d+)/.exec(detail);
  return new HeraldError(code, `${what} is not valid JSON: ${detail}`, {
    logMessage: `${what} is not valid JSON${at ? ` (at position ${at[1]})` : ''}`,
  });
}

export function isHeraldError(e: unknown): e is HeraldError {
  return e instanceof HeraldError;
}
