/**
 * Load-generator worker: a child process that holds many subscribers, counts deliveries and
 * publish-to-deliver latency, and answers the orchestrator over IPC. Every wait is bounded.
 */
import { Histogram } from '../lib/stats.ts';
import type { Command, OpenCommand, Reply, WorkerStats } from './protocol.ts';
import { SseSubscriber } from './sse-client.ts';
import { SseNetSubscriber } from './sse-net-client.ts';
import { SocketIoSubscriber } from './sio-client.ts';
import type { Subscriber, SubscriberSink } from './subscriber.ts';
import { WsNetSubscriber } from './ws-net-client.ts';

const MAX_PENDING_CONNECTS = 400;

interface ClientState {
  /** Next sequence number expected; -1 until the first update arrives. */
  nextSeq: number;
  missed: number;
  duplicates: number;
}

const clients = new Map<Subscriber, ClientState>();
let histogram = new Histogram();
let deliveries = 0;
let bytes = 0;
let errors = 0;
let liveCount = 0;
let closing = false;
let firstError: string | undefined;
let cpuMark = process.cpuUsage();
let wallMark = performance.now();
let onLiveChange: (() => void) | undefined;

function reply(msg: Reply): void {
  process.send?.(msg);
}

function reconnectLater(sub: Subscriber): void {
  if (closing) return;
  sub.close();
  const delay = 100 + Math.random() * 900;
  setTimeout(() => {
    if (!closing && clients.has(sub)) sub.connect(true);
  }, delay).unref();
}

const sink: SubscriberSink = {
  onLive() {
    liveCount++;
    onLiveChange?.();
  },
  onMessage(sub, data) {
    deliveries++;
    const si = data.indexOf('s=');
    const ti = data.indexOf(' t=', si);
    const pi = data.indexOf(' p=', ti);
    if (si < 0 || ti < 0 || pi < 0) return;
    const seq = Number(data.slice(si + 2, ti));
    const sent = Number(data.slice(ti + 3, pi));
    histogram.record(performance.timeOrigin + performance.now() - sent);
    const st = clients.get(sub);
    if (!st) return;
    if (st.nextSeq < 0) st.nextSeq = seq + 1;
    else if (seq > st.nextSeq) {
      st.missed += seq - st.nextSeq;
      st.nextSeq = seq + 1;
    } else if (seq < st.nextSeq) st.duplicates++;
    else st.nextSeq = seq + 1;
  },
  onError(sub, reason) {
    errors++;
    firstError ??= reason;
    if (sub.live) liveCount--;
    sub.live = false;
    reconnectLater(sub);
  },
  onBytes(n) {
    bytes += n;
  },
  onClosed(sub) {
    if (closing) return;
    if (sub.live) liveCount--;
    sub.live = false;
    reconnectLater(sub);
  },
};

function waitLive(target: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      onLiveChange = undefined;
      resolve();
    }
    onLiveChange = () => {
      if (liveCount >= target) done();
    };
    onLiveChange();
  });
}

async function open(cmd: OpenCommand): Promise<void> {
  const t0 = performance.now();
  const errorsBefore = errors;
  const subs: Subscriber[] = [];
  for (let k = 0; k < cmd.count; k++) {
    const i = cmd.firstIndex + k;
    const node = cmd.target.nodes[i % cmd.target.nodes.length];
    if (!node) throw new Error('no nodes');
    const topic = cmd.perClientTopic ? `${cmd.topic}${i}` : cmd.topic;
    const local = cmd.localAddresses[i % cmd.localAddresses.length] ?? '127.0.0.1';
    const path = cmd.target.pathTemplate.replace('{topic}', encodeURIComponent(topic));
    const sub =
      cmd.target.kind === 'socketio'
        ? new SocketIoSubscriber(node, topic, local, sink)
        : cmd.target.kind === 'ws'
          ? new WsNetSubscriber(node, cmd.target.pathTemplate, topic, local, sink, { deflate: cmd.wsDeflate })
          : cmd.sseClient === 'http'
          ? new SseSubscriber(node, path, local, sink)
          : new SseNetSubscriber(node, path, local, sink);
    clients.set(sub, { nextSeq: -1, missed: 0, duplicates: 0 });
    subs.push(sub);
  }
  // Connect in waves so the server's accept backlog is not what we measure here.
  const deadline = Date.now() + cmd.timeoutMs;
  const base = liveCount;
  for (let k = 0; k < subs.length; k++) {
    while (k - (liveCount - base) - (errors - errorsBefore) >= MAX_PENDING_CONNECTS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    (subs[k] as Subscriber).connect(false);
  }
  await waitLive(base + subs.length, Math.max(0, deadline - Date.now()));
  const msg: Reply = { op: 'opened', live: liveCount - base, failed: subs.length - (liveCount - base), ms: performance.now() - t0 };
  if (firstError) msg.firstError = firstError;
  reply(msg);
}

async function storm(timeoutMs: number): Promise<void> {
  const t0 = performance.now();
  const all = [...clients.keys()];
  for (const sub of all) {
    if (sub.live) liveCount--;
    sub.close();
  }
  for (const sub of all) sub.connect(true);
  const errorsBefore = errors;
  firstError = undefined;
  await waitLive(all.length, timeoutMs);
  const msg: Reply = { op: 'storm', live: liveCount, failed: all.length - liveCount, ms: performance.now() - t0, errors: errors - errorsBefore };
  if (firstError) msg.firstError = firstError;
  reply(msg);
}

function stats(): WorkerStats {
  const cpu = process.cpuUsage(cpuMark);
  const wallMs = performance.now() - wallMark;
  let deflated = 0;
  for (const sub of clients.keys()) if (sub instanceof WsNetSubscriber && sub.deflated) deflated++;
  return {
    deliveries,
    bytes,
    deflated,
    histogram: histogram.toJSON(),
    cpuPercent: wallMs > 0 ? Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10 : 0,
    wallMs,
    live: liveCount,
    errors,
  };
}

function gaps(lastSeq: number): Reply {
  let missed = 0;
  let duplicates = 0;
  let clientsWithGaps = 0;
  const samples: string[] = [];
  for (const [sub, st] of clients) {
    const tail = st.nextSeq < 0 ? 0 : Math.max(0, lastSeq + 1 - st.nextSeq);
    const m = st.missed + tail;
    missed += m;
    duplicates += st.duplicates;
    if (m > 0 || st.nextSeq < 0) {
      clientsWithGaps++;
      if (samples.length < 3) samples.push(`nextSeq=${st.nextSeq} missedMid=${st.missed} ${sub.describe?.() ?? ''}`);
    }
  }
  return { op: 'gaps', missed, duplicates, clientsWithGaps, samples };
}

process.on('message', (raw) => {
  const cmd = raw as Command;
  switch (cmd.op) {
    case 'open':
      void open(cmd);
      break;
    case 'reset':
      histogram = new Histogram();
      deliveries = 0;
      bytes = 0;
      errors = 0;
      cpuMark = process.cpuUsage();
      wallMark = performance.now();
      reply({ op: 'reset' });
      break;
    case 'stats':
      reply({ op: 'stats', stats: stats() });
      break;
    case 'storm':
      void storm(cmd.timeoutMs);
      break;
    case 'gaps':
      reply(gaps(cmd.lastSeq));
      break;
    case 'close':
      closing = true;
      for (const sub of clients.keys()) sub.close();
      clients.clear();
      reply({ op: 'closed' });
      setTimeout(() => process.exit(0), 50);
      break;
  }
});
// Never outlive the orchestrator.
process.on('disconnect', () => process.exit(0));
