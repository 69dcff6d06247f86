import type { Logger } from 'pino';
import { subjectLabel } from '../auth/principal.ts';
import type { HubObserver } from '../hub/observer.ts';

/**
 * One JSON log line per connection opened and closed (with the reason), whatever the
 * transport, tied to the request id of the request that opened it. Tokens never reach here:
 * a subscription carries its principal's claims, not the token.
 *
 * Every field is a string or a number under a fixed name that no censored path of Herald's
 * logger names (log/redact-paths.ts; connection-log.test.ts checks it), so create-hub.ts
 * hands this a logger without the redaction pass. Nothing is built when the level is off:
 * these lines run twice per connection.
 */
export function connectionLogObserver(logger: Logger): HubObserver {
  return {
    onSubscribe(sub) {
      if (!logger.isLevelEnabled('info')) return;
      logger.info(
        {
          event: 'connection.open',
          requestId: sub.client.requestId,
          subscriber: sub.id,
          transport: sub.sink.transport,
          subject: subjectLabel(sub.principal),
          ip: sub.client.ip,
          selectors: sub.selectors.length,
        },
        'connection opened',
      );
    },
    onUnsubscribe(sub, reason) {
      const level = reason === 'error' ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          event: 'connection.close',
          requestId: sub.client.requestId,
          subscriber: sub.id,
          transport: sub.sink.transport,
          reason,
          durationMs: Date.now() - sub.connectedAt,
        },
        'connection closed',
      );
    },
  };
}
