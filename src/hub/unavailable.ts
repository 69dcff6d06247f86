import { ErrorCode, HeraldError } from '../protocol/errors.ts';

/** A 503 naming the store that failed; the cause (an address, a Redis error) goes to the logs only. */
export function unavailableError(what: string, e: unknown): HeraldError {
  return new HeraldError(ErrorCode.brokerUnavailable, `${what}; retry shortly`, {
    retryAfter: 1,
    logMessage: `${what}: ${e instanceof Error ? e.message : String(e)}`,
  });
}

/** A `catch` handler that rethrows any failure as `unavailableError(what + ' unavailable')`. */
export function unavailable(what: string): (e: unknown) => never {
  return (e) => {
    throw unavailableError(`${what} unavailable`, e);
  };
}
