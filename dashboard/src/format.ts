/** Number and time formatting with fixed shapes, so values change without moving the layout. */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** Exact up to ten million, compact (`12.3M`) above, so the text never outgrows its box. */
export function formatCount(n: number): string {
  return Math.abs(n) < 10_000_000 ? integer.format(n) : compact.format(n);
}

/** One decimal while it matters (`2.5/s`), whole numbers above a hundred (`1,150/s`). */
export function formatRate(n: number): string {
  return Math.abs(n) < 100 ? oneDecimal.format(n) : formatCount(Math.round(n));
}

const tick = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** Axis labels: as many decimals as the tick step needs (0.25, 2.5, 1,000). */
export function formatTick(n: number): string {
  return Math.abs(n) < 10_000_000 ? tick.format(n) : compact.format(n);
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `HH:MM:SS.mmm` in local time. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds(), 3)}`;
}

/** One-line JSON preview, cut at `max` characters. */
export function previewJson(value: unknown, max = 120): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Pretty JSON for an expanded view, bounded so a huge retained state cannot freeze the page. */
export function prettyJson(value: unknown, max = 20_000): string {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max
    ? `${text.slice(0, max)}\n… (${formatCount(text.length - max)} more characters)`
    : text;
}

/**
 * Splits a long topic for display: the head may be cut (with an ellipsis, by CSS, as narrow as
 * the column needs) and the tail always shows, so `https://example.com/books/1` and
 * `https://example.com/books/2` never read alike. The tail is the last path segments that fit
 * in `tailChars`, or the last `tailChars` characters when one segment is longer.
 */
export function splitTopic(topic: string, tailChars = 14): { head: string; tail: string } {
  if (topic.length <= tailChars) return { head: '', tail: topic };
  const end = topic.slice(-tailChars);
  const slash = end.indexOf('/');
  const cut =
    slash > 0 && slash < tailChars - 3 ? topic.length - tailChars + slash : topic.length - tailChars;
  return { head: topic.slice(0, cut), tail: topic.slice(cut) };
}
