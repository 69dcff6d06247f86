/**
 * Ids in HTTP headers (`Last-Event-ID`, `Mercure-Last-Event-ID`). A header value is bytes that
 * node:http, HTTP/2 and fetch `Headers` each turn into text their own way, and a character
 * above U+00FF cannot be written at all: the hub's answers carry ASCII only.
 *
 * - Out (response headers): the id as it is when it is printable ASCII without `%`; otherwise
 *   `%` and every other character are percent-encoded as UTF-8 (`заказ-1` becomes
 *   `%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7-1`), so `decodeURIComponent` gives the id back.
 * - In (`Last-Event-ID` request header): the id's UTF-8 bytes, which is what a browser's
 *   EventSource sends for an id it read from the stream.
 */

const PLAIN = /^[\x20-\x24\x26-\x7e]*$/;
// eslint-disable-next-line no-control-regex
const LATIN1 = /^[\u0000-\u00ff]*$/;
const NEEDS_ESCAPE = /[^\x20-\x24\x26-\x7e]+/g;

/** The id as a header value: printable ASCII, see above. Never throws (a lone surrogate is sent as U+FFFD). */
export function idToHeader(id: string): string {
  if (PLAIN.test(id)) return id;
  return id.replace(NEEDS_ESCAPE, (run) => {
    let out = '';
    for (const byte of new TextEncoder().encode(run))
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    return out;
  });
}

/**
 * An id read from a header: bytes that form valid UTF-8 are decoded as such (`заказ-1` sent
 * by a browser); anything else (a Latin-1 client's `café`) is kept as read.
 */
export function idFromHeader(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value) || !LATIN1.test(value)) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return value;
  }
}
