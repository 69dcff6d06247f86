import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HeraldError } from './errors.ts';
import { MATCH_STEPS_PER_WEIGHT, type MatchMeter } from './matcher.ts';
import { compileSelector, MAX_SELECTOR_LENGTH } from './selector.ts';
import { compileTemplate } from './uri-template.ts';

// Property-based fuzzing of the URI-template parser and matcher (issue 15, "the standing
// defence"): templates and topics come from clients, so no input may throw anything but a
// 400, take more than its bounded work, or compile to more than its linear size.

/** Characters that matter to templates: operators, separators, reserved and non-ASCII ones. */
const ALPHABET = [...'ab1/.;?&=,#-%_~+:*!é{}'];
const OPS = ['', '+', '#', '.', '/', ';', '?', '&'];

const anyText = (maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...ALPHABET, ' ', '\u0000', '\u{1F600}'), maxLength });

const varName = fc.constantFrom('a', 'b', 'x1', 'a.b', 'v_2', 'a:3', 'list*', 'a,b');

/** Well-formed templates of a few literal runs and expressions. */
const template = fc
  .array(
    fc.oneof(
      fc.string({ unit: fc.constantFrom(...'ab/.;?&=,#-'), maxLength: 3 }),
      fc.tuple(fc.constantFrom(...OPS), varName).map(([op, v]) => `{${op}${v}}`),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => parts.join(''))
  .filter((t) => t.includes('{'));

const topic = fc.string({ unit: fc.constantFrom(...'ab1/.;?&=,#-%é '), maxLength: 12 });

// The reference: each operator as a plain regex, straight from RFC 6570's expansions.
const U = 'A-Za-z0-9\\-._~%\\u0080-\\uffff';
const R = `${U}:/?#\\[\\]@!$&'()*+,;=`;
const REFERENCE: Record<string, string> = {
  '': `[${U},]*`,
  '+': `[${R}]*`,
  '#': `(?:#[${R}]*)?`,
  '.': `(?:\\.[${U},]*)*`,
  '/': `(?:/[${U},]*)*`,
  ';': `(?:;[${U},=]*)*`,
  '?': `(?:\\?[${U},=&]*)?`,
  '&': `(?:&[${U},=]*)*`,
};

function referenceRegex(t: string): RegExp {
  let src = '';
  for (const part of t.split(/(\{[^}]*\})/)) {
    if (part.startsWith('{')) {
      const op = OPS.includes(part[1]!) && part[1] !== undefined ? part[1] : '';
      src += REFERENCE[op];
    } else src += part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`);
}

/** A topic built from the template's own literal runs with random fillers: matches are common. */
const nearTopic = template.chain((t) =>
  fc
    .array(fc.string({ unit: fc.constantFrom(...'ab/.;?&=,#'), maxLength: 3 }), {
      minLength: 8,
      maxLength: 8,
    })
    .map((fills) => {
      let i = 0;
      return { t, topic: t.replace(/\{[^}]*\}/g, () => fills[i++ % fills.length]!) };
    }),
);

describe('URI templates under fuzzing', () => {
  test('no text makes the compiler throw anything but a 400 HeraldError', () => {
    fc.assert(
      fc.property(anyText(64), (text) => {
        try {
          compileTemplate(text);
        } catch (e) {
          assert.ok(e instanceof HeraldError && e.status === 400, String(e));
        }
        try {
          compileSelector(text);
        } catch (e) {
          assert.ok(e instanceof HeraldError && e.status === 400, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('a compiled template is at most a few bytes per character (the budget counts this size)', () => {
    fc.assert(
      fc.property(anyText(MAX_SELECTOR_LENGTH), (text) => {
        let m;
        try {
          m = compileTemplate(text);
        } catch {
          return;
        }
        assert.ok(m.size <= 4 * text.length + 48 * 17 + 160, `${m.size} bytes for ${text.length}`);
        assert.ok(m.weight >= 1 && m.weight <= 16);
      }),
      { numRuns: 500 },
    );
  });

  test('matching agrees with a regex reference of each operator', () => {
    const check = (t: string, s: string): void => {
      const expected = referenceRegex(t).test(s);
      assert.equal(compileTemplate(t).match(s), expected, `${t} against ${JSON.stringify(s)}`);
    };
    fc.assert(
      fc.property(template, topic, (t, s) => check(t, s)),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(nearTopic, ({ t, topic: s }) => check(t, s)),
      { numRuns: 3000 },
    );
  });

  test('no topic makes a match throw or take more than its bounded steps', () => {
    fc.assert(
      fc.property(fc.oneof(template, anyText(40)), fc.oneof(topic, anyText(300)), (t, s) => {
        let m;
        try {
          m = compileTemplate(t);
        } catch {
          return;
        }
        const meter: MatchMeter = { steps: 0 };
        m.match(s, meter);
        assert.ok(
          meter.steps <= MATCH_STEPS_PER_WEIGHT * m.weight * (s.length + 1),
          `${meter.steps} steps, weight ${m.weight}, topic length ${s.length}`,
        );
      }),
      { numRuns: 3000 },
    );
  });

  test('adversarial shapes at full length stay within the bound', () => {
    const shapes = [
      `{+a}${'x'.repeat(1000)}{+b}`,
      `${'{+a}x'.repeat(15)}{p}`,
      `{a}${'aab'.repeat(300)}{b}${'ab'.repeat(200)}{c}`,
      `{?a}{?b}{?c}{&d}{/e}{;f}{.g}{#h}`,
    ];
    const topics = ['x'.repeat(2048), `${'x'.repeat(2047)}#`, 'aab'.repeat(682), '?'.repeat(2048)];
    for (const t of shapes) {
      const m = compileTemplate(t);
      for (const s of topics) {
        const meter: MatchMeter = { steps: 0 };
        m.match(s, meter);
        assert.ok(meter.steps > 0);
        assert.ok(meter.steps <= MATCH_STEPS_PER_WEIGHT * m.weight * (s.length + 1), `${t} ${meter.steps}`);
      }
    }
  });

  test('templates differing only in variable names, or in redundant expressions, share one key', () => {
    assert.equal(compileTemplate('https://x/{a}/{+b}').key, compileTemplate('https://x/{id}/{+rest}').key);
    assert.equal(compileTemplate('{+a}{+b}{c}{/d}').key, compileTemplate('{+z}').key);
    assert.notEqual(compileTemplate('{?a}{?b}').key, compileTemplate('{?a}').key);
    assert.equal(compileTemplate('https://x/{id}').prefix, 'https://x/');
  });
});
