/**
 * Client-side topic matching: which of a subscriber's own selectors a delivered topic belongs
 * to (state cache, `useTopic` routing). It answers exactly as the hub's matcher does
 * (protocol/selector.ts and uri-template.ts, checked against them by
 * src/client/topic-match.test.ts), but stays small for browser bundles: no error classes, no
 * compiled-form merging, no string search. A template is read one character at a time as a
 * set of positions (a Thompson simulation), so a hostile topic costs at most topic length ×
 * template length steps and never backtracks; the hub bounds both lengths.
 */

/** Tells whether a topic is matched; built by {@link topicFilter}. */
export type TopicFilter = (topic: string) => boolean;

const MAX_LENGTH = 2048;
const MAX_EXPRESSIONS = 16;
// C0, DEL, C1 and Unicode format characters: the hub refuses selectors containing them.
// eslint-disable-next-line no-control-regex
const REFUSED = /[\u0000-\u001f\u007f-\u009f]|\p{Cf}/u;
const VARSPEC =
  /^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})(?:\.?(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2}))*(?::[1-9]\d{0,3}|\*)?$/;

// Character classes as bits (RFC 6570 expansion sets): 1 unreserved (and `%` `,`), 2 reserved,
// 4 path (`/`), 8 matrix (`=;`), 16 query (`=&`). Non-ASCII is in every class.
const UNRESERVED = /[A-Za-z0-9\-._~%,]/;
const RESERVED_SET = ":/?#[]@!$&'()*+;=";
function classOf(c: number): number {
  if (c > 127) return 31;
  const ch = String.fromCharCode(c);
  if (UNRESERVED.test(ch)) return 31;
  if (!RESERVED_SET.includes(ch)) return 0;
  return 2 | (ch === '/' ? 4 : 0) | ('=;'.includes(ch) ? 8 : 0) | ('=&'.includes(ch) ? 16 : 0);
}

// Operators: `{x}` `{+x}` `{#x}` `{.x}` `{/x}` `{;x}` `{?x}` `{&x}`, each an optional lead
// character and then any run of its class.
const OPERATORS = '+#./;?&';
const OP_CLASS = [1, 2, 2, 1, 4, 8, 16, 16];

/**
 * Compiles a selector as the hub reads it in `dialect` (draft-07: `*`, exact topic or URI
 * template; draft-08: `*` or exact bytes); undefined when the hub would refuse it.
 */
export function topicFilter(source: string, dialect?: 'draft-07' | 'draft-08'): TopicFilter | undefined {
  if (source === '' || source.length > MAX_LENGTH || REFUSED.test(source)) return undefined;
  if (source === '*') return () => true;
  if (dialect === 'draft-08' || !isTemplate(source)) return (topic) => topic === source;
  const tokens = compile(source);
  if (!tokens) return undefined;
  return (topic) => topic === source || run(tokens, topic);
}

function isTemplate(source: string): boolean {
  return source.includes('{') || source.includes('}');
}

/** Whether `source` is one exact draft-07 topic (not `*`, not a template, not refused). */
export function isExactTopic(source: string): boolean {
  return topicFilter(source) !== undefined && source !== '*' && !isTemplate(source);
}

/**
 * Tokens, two numbers each: a literal character is `[code, 0]`; an expression is
 * `[lead or -1, class]`.
 */
function compile(template: string): number[] | undefined {
  const tokens: number[] = [];
  let expressions = 0;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch === '}') return undefined;
    if (ch !== '{') {
      tokens.push(template.charCodeAt(i), 0);
      continue;
    }
    const end = template.indexOf('}', i);
    const body = template.slice(i + 1, end);
    if (end < 0 || body.includes('{') || ++expressions > MAX_EXPRESSIONS) return undefined;
    const op = OPERATORS.indexOf(body[0]!) + 1;
    for (const v of body.slice(op > 0 ? 1 : 0).split(',')) if (!VARSPEC.test(v)) return undefined;
    tokens.push(op > 1 ? OPERATORS.charCodeAt(op - 1) : -1, OP_CLASS[op]!);
    i = end;
  }
  return tokens;
}

/**
 * Sets of states: `at[j]` before token j, `inside[j]` within expression j after its lead.
 * Every move is forward, so one pass per character computes the whole set.
 */
function run(tokens: number[], topic: string): boolean {
  const k = tokens.length / 2;
  let at = new Uint8Array(k + 1);
  let inside = new Uint8Array(k);
  at[0] = 1;
  close(tokens, at, inside);
  for (let p = 0; p < topic.length; p++) {
    const c = topic.charCodeAt(p);
    const cls = classOf(c);
    const nextAt = new Uint8Array(k + 1);
    const nextInside = new Uint8Array(k);
    let alive = false;
    for (let j = 0; j < k; j++) {
      const a = tokens[2 * j]!;
      const b = tokens[2 * j + 1]!;
      const moves = b === 0 ? at[j] && c === a : (inside[j] && cls & b) || (at[j] && c === a);
      if (!moves) continue;
      if (b === 0) nextAt[j + 1] = 1;
      else nextInside[j] = 1;
      alive = true;
    }
    if (!alive) return false;
    at = nextAt;
    inside = nextInside;
    close(tokens, at, inside);
  }
  return at[k] === 1;
}

/** ε-moves: an expression may be empty, a lead-less one starts inside, and inside may end. */
function close(tokens: number[], at: Uint8Array, inside: Uint8Array): void {
  for (let j = 0; j < inside.length; j++) {
    if (tokens[2 * j + 1] === 0) continue;
    if (at[j] && tokens[2 * j]! < 0) inside[j] = 1;
    if (at[j] || inside[j]) at[j + 1] = 1;
  }
}
