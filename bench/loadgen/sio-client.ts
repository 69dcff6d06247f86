/** Socket.IO subscriber: websocket transport only, joins one room per topic, ack = live. */
import { io, type Socket } from 'socket.io-client';
import type { Endpoint } from '../systems/types.ts';
import type { Subscriber, SubscriberSink } from './subscriber.ts';

export class SocketIoSubscriber implements Subscriber {
  live = false;
  lastId: string | undefined;
  #socket: Socket | undefined;
  readonly #url: string;
  readonly #topic: string;
  readonly #localAddress: string;
  readonly #sink: SubscriberSink;

  constructor(node: Endpoint, topic: string, localAddress: string, sink: SubscriberSink) {
    this.#url = `http://${node.host}:${node.port}`;
    this.#topic = topic;
    this.#localAddress = localAddress;
    this.#sink = sink;
  }

  connect(): void {
    this.live = false;
    const socket = io(this.#url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 60_000,
      localAddress: this.#localAddress,
    } as Parameters<typeof io>[1]);
    this.#socket = socket;
    socket.on('connect', () => {
      socket.emit('subscribe', this.#topic, () => {
        this.live = true;
        this.#sink.onLive(this);
      });
    });
    socket.on('m', (id: string, data: string) => {
      this.lastId = id;
      this.#sink.onMessage(this, data);
    });
    socket.on('connect_error', (err: Error) => this.#sink.onError(this, err.message));
    socket.on('disconnect', () => this.#sink.onClosed(this));
  }

  close(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.live = false;
    if (socket) {
      socket.removeAllListeners();
      socket.disconnect();
    }
  }
}
