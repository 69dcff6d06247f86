import type { Logger } from 'pino';
import { SERVER_PRINCIPAL } from '../auth/principal.ts';
import type { IngestMessage, IngestOutcome } from './redis-stream.ts';
import { parseFormPublish, parseJsonPublish } from '../protocol/publish-body.ts';
import type { Hub } from '../hub/hub.ts';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';
import type { PublishInput } from '../protocol/update.ts';

/** What the ingest did since the node started (exposed as `herald_ingest_messages_total`). */
export interface IngestCounters {
  published: number;
  rejected: number;
  /** Reclaimed messages whose update was already stored by a node that died before acknowledging. */
  duplicates: number;
}

/** Fields of the form shape (`XADD herald:ingest * topic T data D ...`), as in a form publish. */
const FORM_FIELDS = new Set(['topic', 'data', 'id', 'type', 'retry', 'private', 'retain', 'patch']);

/**
 * Decodes one ingest message: either a single `update` field holding the JSON publish shape
 * (one object or an array), or the form fields of a Mercure publish. Updates without an id get
 * one derived from the stream entry, so a message is recognised if it is ever processed twice.
 */
export function decodeIngestMessage(fields: readonly [string, string][], entryId: string): PublishInput[] {
  const json = fields.filter(([k]) => k === 'update');
  let inputs: PublishInput[];
  if (json.length > 0) {
    if (fields.length > 1)
      throw new HeraldError(ErrorCode.badBody, 'give one "update" field (JSON) or form fields, not both');
    inputs = parseJsonPublish(json[0]![1]);
  } else {
    const unknown = fields.find(([k]) => !FORM_FIELDS.has(k));
    if (unknown)
      throw new HeraldError(
        ErrorCode.badBody,
        `unknown field ${JSON.stringify(unknown[0].slice(0, 50))}; use "update" (JSON) or topic/data/id/type/retry/private`,
        { logMessage: 'unknown field; use "update" (JSON) or topic/data/id/type/retry/private' },
      );
    inputs = [parseFormPublish(new URLSearchParams(fields as [string, string][]).toString())];
  }
  inputs.forEach((input, i) => {
    input.id ??= inputs.length === 1 ? `urn:herald:ingest:${entryId}` : `urn:herald:ingest:${entryId}:${i}`;
  });
  return inputs;
}

/** Refusals that say "not now" rather than "never": the message is left to be retried. */
const TRANSIENT: ReadonlySet<string> = new Set([
  ErrorCode.brokerUnavailable,
  ErrorCode.shuttingDown,
  ErrorCode.rateLimited,
]);

/**
 * Publishes ingest messages through the hub's normal path (validation, rate limit, broker,
 * observers) as the trusted server principal. A bad message is counted (refusal metric and
 * `rejected`), logged and dropped; nothing it contains can stop the node.
 */
export function ingestHandler(
  hub: Hub,
  logger: Logger,
  counters: IngestCounters,
  isStored: (updateId: string) => Promise<boolean>,
): (message: IngestMessage) => Promise<IngestOutcome> {
  const reject = (message: IngestMessage, e: unknown): IngestOutcome => {
    const error = isHeraldError(e) ? e : new HeraldError(ErrorCode.internal, 'internal error');
    hub.recordRefusal(error.code);
    counters.rejected++;
    logger.warn(
      { event: 'ingest-rejected', entryId: message.entryId, code: error.code },
      `ingest message refused: ${error.logMessage}`,
    );
    return 'ack';
  };
  return async (message) => {
    let inputs: PublishInput[];
    try {
      inputs = decodeIngestMessage(message.fields, message.entryId);
    } catch (e) {
      return reject(message, e);
    }
    try {
      if (message.reclaimed && (await isStored(inputs[0]!.id!))) {
        counters.duplicates++;
        return 'ack';
      }
      const stored = await hub.publish(inputs, SERVER_PRINCIPAL, { ip: 'redis-ingest' });
      counters.published += stored.length;
      return 'ack';
    } catch (e) {
      if (isHeraldError(e) && TRANSIENT.has(e.code)) {
        logger.info({ event: 'ingest-deferred', entryId: message.entryId, code: e.code }, e.logMessage);
        return 'retry';
      }
      if (!isHeraldError(e) && !hub.closing) {
        // Redis itself failed (the look-up): not the message's fault, try again later.
        logger.warn(
          { event: 'ingest-deferred', entryId: message.entryId, err: String(e) },
          'ingest will retry',
        );
        return 'retry';
      }
      return reject(message, e);
    }
  };
}
