import type { Logger } from 'pino';

/**
 * Keeps the process serving when an error escapes every handler (a rejected promise nobody
 * awaited, a throw in a socket callback): it is logged at `error` as `{"event":"uncaught"}`
 * and the process goes on. Each such error is a bug in one connection's code path; taking
 * every other connection down with it is what a hub facing the internet must not do.
 * Returns the function that removes the handlers.
 */
export function containProcessErrors(logger: Logger, onError: (e: unknown) => void = () => {}): () => void {
  const log = (kind: 'rejection' | 'exception') => (e: unknown) => {
    try {
      logger.error({ event: 'uncaught', kind, err: e }, `unhandled ${kind} contained`);
      onError(e);
    } catch {
      // Logging itself failed: nothing else to do that could not fail the same way.
    }
  };
  const onRejection = log('rejection');
  const onException = log('exception');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
