import { ErrorCode, HeraldError } from './errors.ts';
import type { MatchMeter, TopicMatcher } from './matcher.ts';

/**
 * Matches topics against RFC 6570 URI templates (levels 1-4, as Mercure selectors use them).
 *
 * Templates come from untrusted subscribers, so both the compiled form and the matching are
 * bounded. A template compiles to its literal runs (kept as strings) and one small entry per
 * expression: memory is linear in its length with a small constant. Every expression matches
 * `ε | lead·class*` (or `class*` without a lead character), so a match is a sweep over the
 * topic per expression and a string search (KMP) per literal run: time is linear in the topic
 * length times the number of expressions, whatever the input, with no backtracking.
 */
export type TemplateMatcher = TopicMatcher;

// Character classes as bits of one table: each expression kind allows one class.
const SIMPLE = 1; // unreserved, `%`, non-ASCII and `,` ({x})
const RESERVED = 2; // all of the above and the reserved set ({+x}, {#x})
const PATH = 4; // SIMPLE and `/` ({/x} after its leading `/`)
const MATRIX = 8; // SIMPLE and `=;` ({;x})
const QUERY = 16; // SIMPLE and `=&` ({?x}, {&x})
const ALL = SIMPLE | RESERVED | PATH | MATRIX | QUERY;

const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-._~%,]/.test(ch)) CLASS[c] = ALL;
  else if (":/?#[]@!$&'()*+;=".includes(ch)) {
    CLASS[c] =
      RESERVED |
      (ch === '/' ? PATH : 0) |
      (ch === '=' || ch === ';' ? MATRIX : 0) |
      (ch === '=' || ch === '&' ? QUERY : 0);
  }
}

function inClass(c: number, cls: number): boolean {
  return c > 127 || (CLASS[c]! & cls) !== 0;
}

function classWithin(inner: number, outer: number): boolean {
  for (let c = 0; c < 128; c++) if (CLASS[c]! & inner && !(CLASS[c]! & outer)) return false;
  return true;
}

/** Expression kinds by operator: the leading character (-1: none) and the class of the rest. */
const OPERATORS = ['', '+', '#', '.', '/', ';', '?', '&'] as const;
const LEAD = [-1, -1, 35, 46, 47, 59, 63, 38];
const CLASS_OF = [SIMPLE, RESERVED, RESERVED, SIMPLE, PATH, MATRIX, QUERY, QUERY];

/** Whether `ε | lead·class*` of `inner` lies within `class*` of the lead-less `outer`. */
function starCovers(outer: number, inner: number): boolean {
  if (LEAD[outer]! >= 0) return false;
  const lead = LEAD[inner]!;
  return (lead < 0 || inClass(lead, CLASS_OF[outer]!)) && classWithin(CLASS_OF[inner]!, CLASS_OF[outer]!);
}

/** `E E = E`: true when the lead character may also appear in the rest (not `{?x}`). */
function idempotent(op: number): boolean {
  return LEAD[op]! < 0 || inClass(LEAD[op]!, CLASS_OF[op]!);
}

const VARSPEC =
  /^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})(?:\.?(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2}))*(?::[1-9]\d{0,3}|\*)?$/;

const MAX_EXPRESSIONS = 16;

/** Whether the string contains template syntax at all (otherwise it is an exact topic). */
export function looksLikeTemplate(s: string): boolean {
  return s.includes('{') || s.includes('}');
}

/** Compiles a template; throws a 400 HeraldError naming what is malformed. */
export function compileTemplate(template: string): TemplateMatcher {
  const lits: string[] = [''];
  const ops: number[] = [];
  let i = 0;
  let expressions = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    const close = template.indexOf('}', i);
    if (close !== -1 && (open === -1 || close < open))
      throw new HeraldError(ErrorCode.badSelector, `unmatched "}" in URI template ${template}`);
    if (open === -1) {
      lits[lits.length - 1] += template.slice(i);
      break;
    }
    lits[lits.length - 1] += template.slice(i, open);
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
    const op = operatorOf(body, template);
    i = end + 1;
    // Adjacent expressions that add nothing are merged: `{+a}{+b}` matches what `{+a}` does.
    const last = ops.length - 1;
    if (last >= 0 && lits[lits.length - 1] === '') {
      const prev = ops[last]!;
      if (starCovers(prev, op) || (prev === op && idempotent(op))) continue;
      if (starCovers(op, prev)) {
        ops[last] = op;
        continue;
      }
    }
    ops.push(op);
    lits.push('');
  }
  return new UriTemplateMatcher(template, lits, ops);
}

function operatorOf(body: string, template: string): number {
  const op = OPERATORS.indexOf(body[0] as (typeof OPERATORS)[number]);
  const vars = (op > 0 ? body.slice(1) : body).split(',');
  for (const v of vars) {
    if (!VARSPEC.test(v))
      throw new HeraldError(ErrorCode.badSelector, `invalid variable "${v}" in URI template ${template}`);
  }
  return op > 0 ? op : 0;
}

// Scratch space shared by every match (matching is synchronous): nothing is allocated per
// topic once the buffers have grown to the longest topic seen.
let reachA = new Uint8Array(2050);
let reachB = new Uint8Array(2050);
let table = new Int32Array(2048);
let work = 0;

function ensureScratch(positions: number, literal: number): void {
  if (reachA.length < positions) {
    reachA = new Uint8Array(positions * 2);
    reachB = new Uint8Array(positions * 2);
  }
  if (table.length < literal) table = new Int32Array(literal * 2);
}

class UriTemplateMatcher implements TopicMatcher {
  readonly prefix: string;
  readonly key: string;
  readonly weight: number;
  readonly size: number;
  readonly #suffix: string;
  /** Literal runs between expressions: `ops[j]` is followed by `mids[j]`, the last by the suffix. */
  readonly #mids: string[];
  readonly #ops: Uint8Array;
  readonly #minLength: number;

  constructor(template: string, lits: string[], ops: number[]) {
    this.prefix = lits[0]!;
    this.#suffix = lits[lits.length - 1]!;
    this.#mids = lits.slice(1, -1);
    this.#ops = Uint8Array.from(ops);
    this.#minLength = lits.reduce((n, l) => n + l.length, 0);
    const parts = [this.prefix];
    for (let j = 0; j < ops.length; j++) parts.push(`{${OPERATORS[ops[j]!]}}`, lits[j + 1]!);
    this.key = parts.join('');
    this.weight = Math.max(1, ops.length);
    // The template (held by literal slices), the key, and a small object per run.
    this.size = 160 + 48 * lits.length + 2 * (template.length + this.key.length);
  }

  match(topic: string, meter?: MatchMeter): boolean {
    work = 0;
    const hit = this.#run(topic);
    if (meter) meter.steps += work;
    return hit;
  }

  #run(topic: string): boolean {
    const n = topic.length;
    work += 1;
    if (n < this.#minLength) return false;
    work += this.prefix.length;
    if (!topic.startsWith(this.prefix)) return false;
    work += this.#suffix.length;
    if (!topic.endsWith(this.#suffix)) return false;
    const from = this.prefix.length;
    const to = n - this.#suffix.length;
    if (this.#ops.length === 0) return from === to;
    if (this.#ops.length === 1) return sweepOnce(topic, from, to, this.#ops[0]!);
    return this.#positions(topic, from, to);
  }

  /** Sets of reachable positions, one pass per expression and per literal run. */
  #positions(topic: string, from: number, to: number): boolean {
    const len = to - from;
    let longest = 0;
    for (const m of this.#mids) longest = Math.max(longest, m.length);
    ensureScratch(len + 1, longest);
    let cur = reachA;
    let next = reachB;
    cur.fill(0, 0, len + 1);
    cur[0] = 1;
    work += len + 1;
    const ops = this.#ops;
    for (let t = 0; t < ops.length; t++) {
      if (t > 0 && this.#mids[t - 1] !== '') {
        if (!literalPass(topic, from, len, this.#mids[t - 1]!, cur, next)) return false;
        [cur, next] = [next, cur];
      }
      if (!expressionPass(topic, from, len, ops[t]!, cur)) return false;
    }
    return cur[len] === 1;
  }
}

/** The whole window is one expression. */
function sweepOnce(topic: string, from: number, to: number, op: number): boolean {
  work += to - from;
  if (from === to) return true;
  const lead = LEAD[op]!;
  const cls = CLASS_OF[op]!;
  let i = from;
  if (lead >= 0 && topic.charCodeAt(i++) !== lead) return false;
  for (; i < to; i++) if (!inClass(topic.charCodeAt(i), cls)) return false;
  return true;
}

/** In place: positions reachable after the expression. Returns whether any is. */
function expressionPass(topic: string, from: number, len: number, op: number, reach: Uint8Array): boolean {
  work += len + 1;
  const lead = LEAD[op]!;
  const cls = CLASS_OF[op]!;
  let alive = false;
  let any = false;
  if (lead < 0) {
    for (let i = 0; i <= len; i++) {
      if (reach[i] === 1) alive = true;
      else if (alive) reach[i] = 1;
      if (alive) {
        any = true;
        if (i < len && !inClass(topic.charCodeAt(from + i), cls)) alive = false;
      }
    }
    return any;
  }
  for (let i = 0; i <= len; i++) {
    const was = reach[i] === 1;
    if (alive) reach[i] = 1;
    if (was || alive) any = true;
    if (i < len) {
      const c = topic.charCodeAt(from + i);
      alive = (alive && inClass(c, cls)) || (was && c === lead);
    }
  }
  return any;
}

/** `next` = positions right after an occurrence of `lit` that starts at a reachable one (KMP). */
function literalPass(
  topic: string,
  from: number,
  len: number,
  lit: string,
  reach: Uint8Array,
  next: Uint8Array,
): boolean {
  const m = lit.length;
  next.fill(0, 0, len + 1);
  work += len + 1;
  if (m > len) return false;
  table[0] = 0;
  let k = 0;
  for (let q = 1; q < m; q++) {
    const c = lit.charCodeAt(q);
    while (k > 0 && c !== lit.charCodeAt(k)) {
      k = table[k - 1]!;
      work++;
    }
    if (c === lit.charCodeAt(k)) k++;
    table[q] = k;
    work++;
  }
  let any = false;
  k = 0;
  for (let i = 0; i < len; i++) {
    const c = topic.charCodeAt(from + i);
    while (k > 0 && c !== lit.charCodeAt(k)) {
      k = table[k - 1]!;
      work++;
    }
    if (c === lit.charCodeAt(k)) k++;
    work++;
    if (k === m) {
      if (reach[i + 1 - m] === 1) {
        next[i + 1] = 1;
        any = true;
      }
      k = table[k - 1]!;
    }
  }
  return any;
}
