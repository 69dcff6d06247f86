/**
 * The hub's reserved namespace: the path of the hub URL and everything under it, plus
 * Herald's own `/.well-known/herald/` (hub statistics). Only the hub publishes there
 * (subscription events), so a publisher cannot forge them.
 *
 * A topic is resolved against the hub URL with the WHATWG URL parser, which removes dot
 * segments (`..`, `%2e%2e`); percent-escapes of unreserved characters are then decoded, so
 * `/.well-known/%6Dercure/…`, `../` tricks and absolute forms such as
 * `https://hub.example/.well-known/mercure/…` all land on the same path. Scheme and host do
 * not matter. A topic that is not a URL reference cannot name a hub path.
 */
export class ReservedNamespace {
  readonly hubUrl: string;
  readonly #prefixes: string[];
  /**
   * Recent answers by topic: publishers repeat their topics, and resolving one costs a URL
   * parse (a twentieth of a batch publish). Bounded in entries and topic length; full, it
   * starts over, so a flood of distinct topics costs at most this much memory.
   */
  readonly #known = new Map<string, boolean>();

  constructor(hubUrl: string) {
    this.hubUrl = hubUrl;
    const hubPath = normalizePath(new URL(hubUrl).pathname).replace(/\/+$/, '');
    this.#prefixes = [hubPath, '/.well-known/herald'];
  }

  contains(topic: string): boolean {
    const known = this.#known.get(topic);
    if (known !== undefined) return known;
    const inside = this.#resolve(topic);
    if (topic.length <= MEMO_TOPIC_LENGTH) {
      if (this.#known.size >= MEMO_ENTRIES) this.#known.clear();
      this.#known.set(topic, inside);
    }
    return inside;
  }

  /** Answers remembered (tests). */
  get memoSize(): number {
    return this.#known.size;
  }

  #resolve(topic: string): boolean {
    let url: URL;
    try {
      url = new URL(topic, this.hubUrl);
    } catch {
      return false;
    }
    const path = normalizePath(url.pathname);
    return this.#prefixes.some((p) => path === p || path.startsWith(`${p}/`));
  }
}

/** Topics remembered by `contains`, and the longest remembered (at most ~2 MB of text). */
export const MEMO_ENTRIES = 4096;
export const MEMO_TOPIC_LENGTH = 256;

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Decodes percent-escapes of unreserved characters (RFC 3986 §6.2.2.2), then removes dot segments again. */
function normalizePath(path: string): string {
  const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : escape.toUpperCase();
  });
  if (decoded === path) return path;
  // `%2E%2E` decoded to `..` is a dot segment now: let the URL parser remove it.
  return new URL(decoded, 'http://x').pathname;
}
