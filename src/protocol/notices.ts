/**
 * The hub's closing events, each encoded once per process and shared by every connection it
 * ends (the slow-consumer one names the subscriber's last id, so it is built per subscriber).
 */
import { EncodedNotice } from './frames.ts';
import { HubEvent } from './update.ts';

export const TOKEN_EXPIRED_NOTICE = new EncodedNotice(HubEvent.tokenExpired, {
  reason: 'token expired; reconnect with a fresh token',
});

export const SHUTDOWN_NOTICE = new EncodedNotice(HubEvent.shutdown, {
  reason: 'hub is restarting; reconnect',
});

/** The final event of a subscriber disconnected for falling behind. */
export function slowConsumerNotice(lastEventId: string | undefined): EncodedNotice {
  return new EncodedNotice(HubEvent.slowConsumer, {
    reason: 'too far behind; reconnect and resume from your last id',
    lastEventId: lastEventId ?? null,
  });
}
