/** SSE line parser over latin1 strings (the bench's payloads are ASCII). */

export interface SseEvents {
  /** A comment line (`:`) — the hubs send one when a subscription is live. */
  onComment(): void;
  onEvent(data: string, id: string | undefined): void;
}

export class SseParser {
  #buf = '';
  #data: string | undefined;
  #id: string | undefined;
  readonly #events: SseEvents;

  constructor(events: SseEvents) {
    this.#events = events;
  }

  reset(): void {
    this.#buf = '';
    this.#data = undefined;
    this.#id = undefined;
  }

  feed(chunk: string): void {
    const buf = this.#buf.length === 0 ? chunk : this.#buf + chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf('\n', start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && buf.charCodeAt(end - 1) === 13) end--;
      this.#line(buf, start, end);
      start = nl + 1;
    }
    this.#buf = start === buf.length ? '' : buf.slice(start);
  }

  #line(buf: string, start: number, end: number): void {
    if (start === end) {
      if (this.#data !== undefined) this.#events.onEvent(this.#data, this.#id);
      this.#data = undefined;
      this.#id = undefined;
      return;
    }
    const c = buf.charCodeAt(start);
    if (c === 58 /* : */) {
      this.#events.onComment();
    } else if (c === 100 /* d */ && buf.startsWith('data:', start)) {
      const from = buf.charCodeAt(start + 5) === 32 ? start + 6 : start + 5;
      const piece = buf.slice(from, end);
      this.#data = this.#data === undefined ? piece : `${this.#data}\n${piece}`;
    } else if (c === 105 /* i */ && buf.startsWith('id:', start)) {
      this.#id = buf.slice(buf.charCodeAt(start + 3) === 32 ? start + 4 : start + 3, end);
    }
  }
}
