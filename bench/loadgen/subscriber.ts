/** The subscriber abstraction the worker drives, whatever the wire protocol. */

export interface Subscriber {
  /** True once the server confirmed the subscription (first comment, ack or event). */
  live: boolean;
  /** Id of the last event received, for resume. */
  lastId: string | undefined;
  connect(resume: boolean): void;
  close(): void;
  /** A one-line state dump for BENCH_DEBUG traces. */
  describe?(): string;
}

export interface SubscriberSink {
  onLive(sub: Subscriber): void;
  onMessage(sub: Subscriber, data: string): void;
  onError(sub: Subscriber, reason: string): void;
  onClosed(sub: Subscriber): void;
  /** Bytes read from the wire (clients on raw sockets report it; for bytes per delivery). */
  onBytes?(n: number): void;
}
