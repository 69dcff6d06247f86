/** Why a subscription or a publish failed, as the hub said it (status, stable code, reason). */
export class HeraldClientError extends Error {
  /** HTTP status (or the equivalent for a WebSocket close); 0 for network failures. */
  readonly status: number;
  /** The hub's stable error code (`HERALD_ERR_...`), when it sent one. */
  readonly code: string | undefined;
  /** Seconds the hub asked to wait (Retry-After), when it did. */
  readonly retryAfter: number | undefined;

  constructor(message: string, status: number, code?: string, retryAfter?: number) {
    super(message);
    this.name = 'HeraldClientError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** Worth retrying: network failures, 408, 429 and 5xx. Other 4xx need a fix, not a retry. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}
