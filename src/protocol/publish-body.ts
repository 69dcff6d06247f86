import { ErrorCode, HeraldError, invalidJson } from '../protocol/errors.ts';
import { parseStatePatch, patchFromData, retainedValue } from '../protocol/state.ts';
import type { PublishInput } from '../protocol/update.ts';
import { assertFormEncodedUtf8 } from './validate.ts';

/** Most updates in one JSON batch. */
export const MAX_BATCH = 1000;

/** Parses a Mercure form-encoded publish body into one update (field checks come later). */
export function parseFormPublish(body: string): PublishInput {
  assertFormEncodedUtf8(body, 'form body');
  const form = new URLSearchParams(body);
  // `curl -d '{"topic":…}'` sends JSON as form data: say what is wrong instead of "no topic".
  if (!form.has('topic') && /^\s*[[{]/.test(body))
    throw new HeraldError(
      ErrorCode.badBody,
      'the body looks like JSON but was sent as form data: send it with Content-Type: application/json',
    );
  const input: PublishInput = {
    topics: form.getAll('topic'),
    data: form.get('data') ?? '',
    private: form.has('private'),
  };
  // Empty optional fields (as HTML forms send them) mean "not given".
  const id = form.get('id');
  if (id) input.id = id;
  const type = form.get('type');
  if (type) input.type = type;
  const retry = form.get('retry');
  if (retry) input.retry = retry as unknown as number; // validated (digits only) downstream
  // Herald extension: `retain` keeps the data as the topic's state; `patch` makes the data a
  // JSON merge patch on it. A checkbox sends "on"; "0"/"false" mean no.
  if (formFlag(form, 'patch')) input.stateOp = patchFromData(input.data);
  else if (formFlag(form, 'retain')) input.stateOp = retainedValue(input.data);
  return input;
}

function formFlag(form: URLSearchParams, name: string): boolean {
  const v = form.get(name);
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

/** Parses the JSON extension: one update object, or an array of them (batch). */
export function parseJsonPublish(body: string): PublishInput[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    throw invalidJson(ErrorCode.badBody, 'body', e);
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw new HeraldError(ErrorCode.badBody, 'batch must contain at least one update');
  if (items.length > MAX_BATCH)
    throw new HeraldError(ErrorCode.badBody, `batch larger than ${MAX_BATCH} updates`);
  return items.map((item, i) => jsonPublishInput(item, Array.isArray(value) ? `update ${i}: ` : ''));
}

/** The fields a JSON update may have; anything else (a typo like "payload") is refused. */
const JSON_FIELDS = new Set(['topics', 'topic', 'data', 'patch', 'retain', 'private', 'id', 'type', 'retry']);

/** One update of the JSON extension (also a WebSocket `publish` frame); `where` prefixes errors. */
export function jsonPublishInput(item: unknown, where = ''): PublishInput {
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    throw new HeraldError(ErrorCode.badBody, `${where}each update must be a JSON object`);
  const o = item as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !JSON_FIELDS.has(k));
  if (unknown !== undefined)
    throw new HeraldError(
      ErrorCode.badBody,
      `${where}unknown field ${JSON.stringify(unknown.slice(0, 40))}; an update has topics, data, id, type, retry, private, retain or patch`,
    );
  const rawTopics = o['topics'] ?? o['topic'];
  let topics: string[];
  if (typeof rawTopics === 'string') topics = [rawTopics];
  else if (Array.isArray(rawTopics) && rawTopics.every((t) => typeof t === 'string'))
    topics = rawTopics as string[];
  else if (rawTopics === undefined)
    throw new HeraldError(ErrorCode.missingTopic, `${where}"topics" is required`);
  else throw new HeraldError(ErrorCode.badTopic, `${where}"topics" must be an array of strings`);

  const data = o['data'];
  const patch = o['patch'];
  const retain = o['retain'];
  if (retain !== undefined && typeof retain !== 'boolean')
    throw new HeraldError(ErrorCode.badBody, `${where}"retain" must be a boolean`);
  if (patch !== undefined && data !== undefined)
    throw new HeraldError(ErrorCode.badBody, `${where}give "data" or "patch", not both`);
  const input: PublishInput = {
    topics,
    // Structured data is accepted for convenience and sent as its JSON text.
    data: data === undefined ? '' : typeof data === 'string' ? data : JSON.stringify(data),
    private: false,
  };
  const priv = o['private'];
  if (priv !== undefined) {
    if (typeof priv !== 'boolean')
      throw new HeraldError(ErrorCode.badBody, `${where}"private" must be a boolean`);
    input.private = priv;
  }
  const id = o['id'];
  if (id !== undefined) {
    if (typeof id !== 'string') throw new HeraldError(ErrorCode.badId, `${where}"id" must be a string`);
    input.id = id;
  }
  const type = o['type'];
  if (type !== undefined) {
    if (typeof type !== 'string') throw new HeraldError(ErrorCode.badType, `${where}"type" must be a string`);
    input.type = type;
  }
  const retry = o['retry'];
  if (retry !== undefined) {
    if (typeof retry !== 'number')
      throw new HeraldError(ErrorCode.badRetry, `${where}"retry" must be a number`);
    input.retry = retry;
  }
  if (patch !== undefined) input.stateOp = parseStatePatch(patch);
  else if (retain === true) input.stateOp = retainedValue(input.data);
  return input;
}
