import type { Logger } from 'pino';
import { subjectLabel } from '../auth/principal.ts';
import type { HubObserver } from '../hub/observer.ts';

/**
 * One JSON log line per connection opened and closed (with the reason), whatever the
 * transport, tied to the request id of the request that opened it. Tokens never reach here:
 * a subscription carries its principal's claims, not the token.
 */
export function connectionLogObserver(logger: Logger): HubObserver {
  return {
    onSubscribe(sub) {
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
      logger[reason === 'error' ? 'warn' : 'info'](
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
