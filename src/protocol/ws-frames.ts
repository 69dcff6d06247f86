/**
 * Decoding of the frames a WebSocket client sends (protocol/ws.ts is the dialect itself):
 * pure checks from text to a typed frame, each refusal a 400 HeraldError with a one-line
 * reason that quotes nothing of the client's frame.
 */
import { ErrorCode, HeraldError } from './errors.ts';
import type { MatcherSpec } from './selector.ts';
import { checkThrottle } from './validate.ts';
import type { WsClientFrame } from './ws.ts';

const MAX_REF_LENGTH = 64;

/** A frame that is a JSON object with a valid `ref` (or none); its op is not checked yet. */
export type RawClientFrame = Record<string, unknown>;

/**
 * Reads a client frame's text: a JSON object with a valid `ref` (or none), else a 400
 * HeraldError. Its op is checked next (`checkClientFrame`), so a refusal can echo the ref.
 */
export function readClientFrame(text: string): RawClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // V8's message quotes the text: nothing of a client's frame goes into a reason or a log.
    throw new HeraldError(ErrorCode.badBody, 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HeraldError(ErrorCode.badBody, 'frame must be a JSON object with an "op"');
  const o = value as Record<string, unknown>;
  const ref = o['ref'];
  if (
    ref !== undefined &&
    !(typeof ref === 'number' && Number.isFinite(ref)) &&
    !(typeof ref === 'string' && ref.length <= MAX_REF_LENGTH)
  )
    throw new HeraldError(
      ErrorCode.badBody,
      `"ref" must be a number or a string of at most ${MAX_REF_LENGTH}`,
    );
  return o;
}

/** Checks a frame's op and fields; throws a 400 HeraldError saying what is wrong. */
export function checkClientFrame(o: RawClientFrame): WsClientFrame {
  switch (o['op']) {
    case 'auth':
      if (typeof o['token'] !== 'string' || o['token'] === '')
        throw new HeraldError(ErrorCode.unauthorized, '"auth" needs a non-empty "token" string');
      return o as WsClientFrame;
    case 'subscribe':
    case 'unsubscribe': {
      // Draft-08 matchers may stand in for draft-07 topics: `topics` is then optional.
      let count = 0;
      for (const field of ['match', 'match_urlpattern']) {
        const list = o[field];
        if (list === undefined) continue;
        if (!Array.isArray(list) || !list.every((t) => typeof t === 'string'))
          throw new HeraldError(ErrorCode.badSelector, `"${field}" must be an array of strings`);
        count += list.length;
      }
      if (o['topics'] === undefined && count > 0) o['topics'] = [];
      const topics = o['topics'];
      if (!Array.isArray(topics) || !topics.every((t) => typeof t === 'string'))
        throw new HeraldError(ErrorCode.badTopic, `"${o['op']}" needs "topics": an array of strings`);
      if (topics.length + count === 0)
        throw new HeraldError(ErrorCode.missingTopic, `"${o['op']}" needs at least one topic`);
      const last = o['lastEventId'];
      if (o['op'] === 'subscribe' && last !== undefined && (typeof last !== 'string' || last === ''))
        throw new HeraldError(ErrorCode.badId, '"lastEventId" must be a non-empty string');
      if (o['op'] === 'subscribe') {
        if (o['snapshot'] !== undefined && typeof o['snapshot'] !== 'boolean')
          throw new HeraldError(ErrorCode.badRequest, '"snapshot" must be true or false');
        if (o['throttle'] !== undefined) checkThrottle(o['throttle']);
      }
      return o as WsClientFrame;
    }
    case 'publish':
      return o as WsClientFrame;
    case undefined:
      throw new HeraldError(ErrorCode.badBody, 'frame has no "op"');
    default:
      throw new HeraldError(
        ErrorCode.badBody,
        `unknown op ${describeOp(o['op'])}; use auth, subscribe, unsubscribe or publish`,
      );
  }
}

/**
 * A client's op for an error message, never by String(): an object may carry its own
 * `toString` (or a non-function one, which makes String throw a TypeError).
 */
function describeOp(op: unknown): string {
  if (typeof op === 'string') return JSON.stringify(op).slice(0, 40);
  if (op === null) return 'null';
  return Array.isArray(op) ? 'of type array' : `of type ${typeof op}`;
}

/** The draft-08 matchers of a subscribe or unsubscribe frame. */
export function wsMatchers(frame: { match?: string[]; match_urlpattern?: string[] }): MatcherSpec[] {
  return [
    ...(frame.match ?? []).map((match) => ({ match, type: 'exact' as const })),
    ...(frame.match_urlpattern ?? []).map((match) => ({ match, type: 'urlpattern' as const })),
  ];
}
