import { ErrorCode, HeraldError } from './errors.ts';
import { ReservedNamespace } from './reserved.ts';
import { DEFAULT_HUB_URL } from './selector.ts';
import type { PublishInput } from './update.ts';

/** Upper bounds that keep one request from costing the hub unbounded work. */
export interface FieldLimits {
  maxTopicsPerUpdate: number;
  maxTopicLength: number;
  maxIdLength: number;
}

export const defaultFieldLimits: FieldLimits = {
  maxTopicsPerUpdate: 32,
  maxTopicLength: 2048,
  maxIdLength: 256,
};

// C0 controls, DEL and C1 controls: never allowed in ids, types or topics, because a CR or
// LF there would let a publisher inject SSE fields into every subscriber's stream.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Unicode format characters (Cf: U+200B, U+202E...) are invisible and spoof identifiers;
// Mercure draft-08 refuses them in topics, ids and types.
const FORMAT = /\p{Cf}/u;

/** The namespace of a hub at the default URL (`/.well-known/mercure`). */
export const defaultReservedNamespace = new ReservedNamespace(DEFAULT_HUB_URL);

function describe(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
}

export function validateTopic(
  topic: unknown,
  limits: FieldLimits = defaultFieldLimits,
  reserved: ReservedNamespace = defaultReservedNamespace,
): string {
  if (typeof topic !== 'string') throw new HeraldError(ErrorCode.badTopic, 'topic must be a string');
  if (topic === '') throw new HeraldError(ErrorCode.badTopic, 'topic must not be empty');
  if (topic === '*') throw new HeraldError(ErrorCode.badTopic, 'topic "*" is reserved for selectors');
  if (topic.length > limits.maxTopicLength)
    throw new HeraldError(ErrorCode.badTopic, `topic longer than ${limits.maxTopicLength} characters`);
  if (CONTROL.test(topic))
    throw new HeraldError(ErrorCode.badTopic, `topic ${describe(topic)} contains a control character`);
  if (FORMAT.test(topic))
    throw new HeraldError(
      ErrorCode.badTopic,
      `topic ${describe(topic)} contains a Unicode format (Cf) character`,
    );
  if (reserved.contains(topic))
    throw new HeraldError(ErrorCode.badTopic, `topic ${describe(topic)} is in the hub's reserved namespace`);
  return topic;
}

export function validateId(id: unknown, limits: FieldLimits = defaultFieldLimits): string {
  if (typeof id !== 'string') throw new HeraldError(ErrorCode.badId, 'id must be a string');
  if (id === '') throw new HeraldError(ErrorCode.badId, 'id must not be empty');
  if (id.startsWith('#')) throw new HeraldError(ErrorCode.badId, 'id must not start with "#" (reserved)');
  if (id === 'earliest') throw new HeraldError(ErrorCode.badId, 'id "earliest" is reserved');
  if (id.length > limits.maxIdLength)
    throw new HeraldError(ErrorCode.badId, `id longer than ${limits.maxIdLength} characters`);
  if (CONTROL.test(id))
    throw new HeraldError(ErrorCode.badId, `id ${describe(id)} contains a control character`);
  if (FORMAT.test(id))
    throw new HeraldError(ErrorCode.badId, `id ${describe(id)} contains a Unicode format (Cf) character`);
  return id;
}

/** A resume cursor: any id the hub could have issued, or `earliest`. */
export function validateLastEventId(id: string, limits: FieldLimits = defaultFieldLimits): string {
  if (id.length > limits.maxIdLength)
    throw new HeraldError(ErrorCode.badId, `Last-Event-ID longer than ${limits.maxIdLength} characters`);
  if (CONTROL.test(id)) throw new HeraldError(ErrorCode.badId, 'Last-Event-ID contains a control character');
  return id;
}

export function validateType(type: unknown): string {
  if (typeof type !== 'string') throw new HeraldError(ErrorCode.badType, 'type must be a string');
  if (type === '') throw new HeraldError(ErrorCode.badType, 'type must not be empty');
  if (type.length > 256) throw new HeraldError(ErrorCode.badType, 'type longer than 256 characters');
  if (CONTROL.test(type)) throw new HeraldError(ErrorCode.badType, 'type contains a control character');
  if (FORMAT.test(type))
    throw new HeraldError(ErrorCode.badType, 'type contains a Unicode format (Cf) character');
  if (type === 'mercure' || type.startsWith('herald.'))
    throw new HeraldError(ErrorCode.badType, `type ${describe(type)} is reserved for hub events`);
  return type;
}

export function validateRetry(retry: unknown): number {
  if (typeof retry === 'number' && Number.isSafeInteger(retry) && retry >= 0) return retry;
  if (typeof retry === 'string' && /^\d{1,15}$/.test(retry)) return Number(retry);
  throw new HeraldError(ErrorCode.badRetry, 'retry must be a non-negative integer (milliseconds)');
}

/** Checks a whole update; throws a HeraldError naming the first field that is wrong. */
export function validatePublishInput(
  input: PublishInput,
  limits: FieldLimits = defaultFieldLimits,
  reserved: ReservedNamespace = defaultReservedNamespace,
): PublishInput {
  if (!Array.isArray(input.topics) || input.topics.length === 0)
    throw new HeraldError(ErrorCode.missingTopic, 'an update needs at least one topic');
  if (input.topics.length > limits.maxTopicsPerUpdate)
    throw new HeraldError(
      ErrorCode.badTopic,
      `an update may have at most ${limits.maxTopicsPerUpdate} topics`,
    );
  const out: PublishInput = {
    topics: input.topics.map((t) => validateTopic(t, limits, reserved)),
    data: input.data,
    private: input.private,
  };
  if (typeof input.data !== 'string') throw new HeraldError(ErrorCode.badData, 'data must be a string');
  if (input.id !== undefined) out.id = validateId(input.id, limits);
  if (input.type !== undefined) out.type = validateType(input.type);
  if (input.retry !== undefined) out.retry = validateRetry(input.retry);
  // Parsed and checked where it was read (publish body); stateVersion is the hub's to set.
  if (input.stateOp !== undefined) out.stateOp = input.stateOp;
  // A key is the update's own id (checked above as an id: any text a publisher may choose) or
  // an Idempotency-Key header, checked where it was read, with `#<n>` added per batch entry.
  if (input.idempotencyKey !== undefined)
    out.idempotencyKey =
      input.idempotencyKey === out.id
        ? out.id
        : validateIdempotencyKey(input.idempotencyKey, MAX_IDEMPOTENCY_KEY + BATCH_SUFFIX);
  return out;
}

/**
 * URLSearchParams turns malformed percent-escapes and invalid UTF-8 into U+FFFD silently; a
 * selector, topic or id that is not what the client sent must be refused instead (400).
 */
export function assertFormEncodedUtf8(form: string, what: string): void {
  if (!form.includes('%')) return;
  for (const part of form.split('&')) {
    if (!part.includes('%')) continue;
    try {
      decodeURIComponent(part);
    } catch {
      throw new HeraldError(ErrorCode.badRequest, `${what} is not valid percent-encoded UTF-8`);
    }
  }
}

/** Longest conflation interval a subscriber may ask for, in ms. */
export const MAX_THROTTLE_MS = 60_000;

/** Throws HERALD_ERR_BAD_THROTTLE unless `ms` is a whole number of milliseconds in range. */
export function checkThrottle(ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > MAX_THROTTLE_MS)
    throw new HeraldError(
      ErrorCode.badThrottle,
      `throttle must be a whole number of milliseconds from 1 to ${MAX_THROTTLE_MS}`,
    );
  return ms;
}

/** Longest idempotency key (it is a Redis key, kept for the whole window). */
export const MAX_IDEMPOTENCY_KEY = 256;

/** Room for the `#<n>` a batch adds to the header's key for its later updates. */
const BATCH_SUFFIX = 16;

/** An Idempotency-Key header: 1 to 256 visible ASCII characters. */
export function validateIdempotencyKey(key: string, maxLength = MAX_IDEMPOTENCY_KEY): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > maxLength || !/^[\x21-\x7e]+$/.test(key))
    throw new HeraldError(
      ErrorCode.badRequest,
      `an idempotency key is 1 to ${MAX_IDEMPOTENCY_KEY} visible ASCII characters`,
    );
  return key;
}
