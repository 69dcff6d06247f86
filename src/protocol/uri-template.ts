import { ErrorCode, HeraldError } from './errors.ts';

/**
 * Matches topics against RFC 6570 URI templates (levels 1-4, as Mercure selectors use them).
 *
 * Templates come from untrusted subscribers, so matching must not be open to regex
 * backtracking blow-ups (`{a}-{b}-{c}` against a long topic is exponential for a naive
 * regex). The template is compiled to a small NFA and run in lockstep over the topic: time is
 * linear in the topic length times the template size, whatever the input.
 */
export interface TemplateMatcher {
  match(topic: string): boolean;
}

type CharTest = (c: number) => boolean;

interface State {
  test: CharTest | undefined;
  next: number;
  eps: number[];
}

interface Fragment {
  start: number;
  end: number;
}

class NfaBuilder {
  readonly states: State[] = [];

  #state(): number {
    this.states.push({ test: undefined, next: -1, eps: [] });
    return this.states.length - 1;
  }

  char(test: CharTest): Fragment {
    const start = this.#state();
    const end = this.#state();
    this.states[start]!.test = test;
    this.states[start]!.next = end;
    return { start, end };
  }

  literal(text: string): Fragment {
    let frag = this.empty();
    for (const ch of text) {
      const code = ch.codePointAt(0)!;
      frag = this.concat(
        frag,
        this.char((c) => c === code),
      );
    }
    return frag;
  }

  empty(): Fragment {
    const s = this.#state();
    return { start: s, end: s };
  }

  concat(a: Fragment, b: Fragment): Fragment {
    this.states[a.end]!.eps.push(b.start);
    return { start: a.start, end: b.end };
  }

  star(inner: Fragment): Fragment {
    const start = this.#state();
    const end = this.#state();
    this.states[start]!.eps.push(inner.start, end);
    this.states[inner.end]!.eps.push(inner.start, end);
    return { start, end };
  }

  optional(inner: Fragment): Fragment {
    const start = this.#state();
    const end = this.#state();
    this.states[start]!.eps.push(inner.start, end);
    this.states[inner.end]!.eps.push(end);
    return { start, end };
  }
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
// Unreserved characters, percent signs of pct-encoded triplets, and non-ASCII (IRIs).
const unreservedish = (c: number): boolean =>
  isAlnum(c) || c === 45 || c === 46 || c === 95 || c === 126 || c === 37 || c > 127;
const RESERVED = new Set(Array.from(":/?#[]@!$&'()*+,;=", (ch) => ch.charCodeAt(0)));
const reservedish = (c: number): boolean => unreservedish(c) || RESERVED.has(c);
const withChars =
  (base: CharTest, extra: string, minus = ''): CharTest =>
  (c) =>
    !minus.includes(String.fromCharCode(c)) && (base(c) || extra.includes(String.fromCharCode(c)));

const VARSPEC =
  /^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})(?:\.?(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2}))*(?::[1-9]\d{0,3}|\*)?$/;

function expression(b: NfaBuilder, body: string, template: string): Fragment {
  const op = '+#./;?&'.includes(body[0] ?? '') ? body[0]! : '';
  const vars = (op ? body.slice(1) : body).split(',');
  for (const v of vars) {
    if (!VARSPEC.test(v))
      throw new HeraldError(ErrorCode.badSelector, `invalid variable "${v}" in URI template ${template}`);
  }
  const value = (test: CharTest) => b.star(b.char(test));
  switch (op) {
    case '':
      return value(withChars(unreservedish, ','));
    case '+':
      return value(reservedish);
    case '#':
      return b.optional(b.concat(b.literal('#'), value(reservedish)));
    case '.':
      return b.star(b.concat(b.literal('.'), value(withChars(unreservedish, ',', '.'))));
    case '/':
      return b.star(b.concat(b.literal('/'), value(withChars(unreservedish, ','))));
    case ';':
      return b.star(b.concat(b.literal(';'), value(withChars(unreservedish, ',='))));
    case '?':
      return b.optional(b.concat(b.literal('?'), value(withChars(unreservedish, ',=&'))));
    default:
      return b.star(b.concat(b.literal('&'), value(withChars(unreservedish, ',='))));
  }
}

const MAX_EXPRESSIONS = 16;

/** Whether the string contains template syntax at all (otherwise it is an exact topic). */
export function looksLikeTemplate(s: string): boolean {
  return s.includes('{') || s.includes('}');
}

/** Compiles a template; throws a 400 HeraldError naming what is malformed. */
export function compileTemplate(template: string): TemplateMatcher {
  const b = new NfaBuilder();
  let frag = b.empty();
  let i = 0;
  let expressions = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    const close = template.indexOf('}', i);
    if (close !== -1 && (open === -1 || close < open))
      throw new HeraldError(ErrorCode.badSelector, `unmatched "}" in URI template ${template}`);
    if (open === -1) {
      frag = b.concat(frag, b.literal(template.slice(i)));
      break;
    }
    frag = b.concat(frag, b.literal(template.slice(i, open)));
    const end = template.indexOf('}', open);
    if (end === -1) throw new HeraldError(ErrorCode.badSelector, `unclosed "{" in URI template ${template}`);
    const body = template.slice(open + 1, end);
    if (body.includes('{'))
      throw new HeraldError(ErrorCode.badSelector, `nested "{" in URI template ${template}`);
    if (++expressions > MAX_EXPRESSIONS)
      throw new HeraldError(
        ErrorCode.badSelector,
        `URI template has more than ${MAX_EXPRESSIONS} expressions`,
      );
    frag = b.concat(frag, expression(b, body, template));
    i = end + 1;
  }
  return new NfaMatcher(b.states, frag.start, frag.end);
}

class NfaMatcher implements TemplateMatcher {
  readonly #states: State[];
  readonly #start: number;
  readonly #accept: number;
  // Reused between calls: matching allocates nothing per topic.
  readonly #mark: Uint32Array;
  #generation = 0;
  #current: number[] = [];
  #next: number[] = [];

  constructor(states: State[], start: number, accept: number) {
    this.#states = states;
    this.#start = start;
    this.#accept = accept;
    this.#mark = new Uint32Array(states.length);
  }

  #add(list: number[], s: number): void {
    if (this.#mark[s] === this.#generation) return;
    this.#mark[s] = this.#generation;
    list.push(s);
    for (const e of this.#states[s]!.eps) this.#add(list, e);
  }

  match(topic: string): boolean {
    this.#generation++;
    this.#current.length = 0;
    this.#add(this.#current, this.#start);
    for (let i = 0; i < topic.length && this.#current.length > 0; i++) {
      const c = topic.codePointAt(i)!;
      if (c > 0xffff) i++;
      this.#generation++;
      this.#next.length = 0;
      for (const s of this.#current) {
        const st = this.#states[s]!;
        if (st.test !== undefined && st.test(c)) this.#add(this.#next, st.next);
      }
      [this.#current, this.#next] = [this.#next, this.#current];
    }
    return this.#current.includes(this.#accept);
  }
}
