/** Publisher: paced or flat-out HTTP publishing over keep-alive connections, from the orchestrator. */
import { Agent, request } from 'node:http';
import type { PublishRequest, RunningSystem } from '../systems/types.ts';
import { makePayload } from './protocol.ts';
import { RawHttpConnection } from './raw-http.ts';

const PAD = 'x'.repeat(64);

export interface PublishResult {
  /** Updates sent (a batch counts its items). */
  sent: number;
  /** Updates the server accepted (2xx). */
  accepted: number;
  failed: number;
  firstError?: string;
  /** Accepted updates per second over the run. */
  rate: number;
  ms: number;
  /** Percent of one core the orchestrator (publisher) used. */
  cpuPercent: number;
}

export class Publisher {
  readonly #system: RunningSystem;
  readonly #agent: Agent;
  /** Sequence number of the last update sent; subscribers check gaps against it. */
  lastSeq = -1;
  #stopRequested = false;

  constructor(system: RunningSystem, sockets = 32) {
    this.#system = system;
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets });
  }

  /** End a running `paced` call early. */
  stopPaced(): void {
    this.#stopRequested = true;
  }

  close(): void {
    this.#agent.destroy();
  }

  #send(req: PublishRequest): Promise<string | undefined> {
    const node = this.#system.publishNode;
    return new Promise((resolve) => {
      const r = request(
        {
          host: node.host,
          port: node.port,
          path: req.path,
          method: 'POST',
          agent: this.#agent,
          headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve(res.statusCode && res.statusCode < 300 ? undefined : `HTTP ${res.statusCode}`),
          );
          res.on('error', (e) => resolve(e.message));
        },
      );
      r.on('error', (e) => resolve(e.message));
      r.setTimeout(30_000, () => r.destroy(new Error('publish timeout')));
      r.end(req.body);
    });
  }

  /**
   * Publish at `rate` updates/s for `durationMs`, at most `maxInflight` requests outstanding.
   * Resolves when the publishing time is over; `settled` resolves once every answer arrived
   * (bounded by 30 s), so a saturated server cannot stretch the measuring window.
   */
  async paced(
    rate: number,
    durationMs: number,
    topicOf: (seq: number) => string,
    maxInflight = 64,
  ): Promise<PublishResult & { settled: Promise<void> }> {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const res: PublishResult = { sent: 0, accepted: 0, failed: 0, rate: 0, ms: 0, cpuPercent: 0 };
    let inflight = 0;
    this.#stopRequested = false;
    const pending = new Set<Promise<void>>();
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const elapsed = performance.now() - t0;
        const due = Math.min(Math.floor((elapsed / 1000) * rate) + 1, Math.floor((durationMs / 1000) * rate));
        while (res.sent < due && inflight < maxInflight) {
          const seq = ++this.lastSeq;
          res.sent++;
          inflight++;
          const p = this.#send(this.#system.publishRequest(topicOf(seq), makePayload(seq, PAD))).then(
            (err) => {
              inflight--;
              if (err === undefined) res.accepted++;
              else {
                res.failed++;
                res.firstError ??= err;
              }
              pending.delete(p);
            },
          );
          pending.add(p);
        }
        if (elapsed >= durationMs || this.#stopRequested) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 2);
      tick();
    });
    const settled = Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 30_000))]).then(
      () => {
        finish(res, t0, cpu0);
      },
    );
    return Object.assign(finish(res, t0, cpu0), { settled });
  }

  /**
   * Publish as fast as the server answers for `durationMs` with `concurrency` requests in
   * flight; `batch` > 1 sends JSON batches of that many updates per request.
   */
  async flood(
    durationMs: number,
    concurrency: number,
    batch: number,
    topicOf: (seq: number) => string,
  ): Promise<PublishResult> {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const res: PublishResult = { sent: 0, accepted: 0, failed: 0, rate: 0, ms: 0, cpuPercent: 0 };
    const makeReq = (): { req: PublishRequest; n: number } => {
      if (batch <= 1 || !this.#system.batchRequest) {
        const seq = ++this.lastSeq;
        return { req: this.#system.publishRequest(topicOf(seq), makePayload(seq, PAD)), n: 1 };
      }
      const items = [];
      for (let i = 0; i < batch; i++) {
        const seq = ++this.lastSeq;
        items.push({ topic: topicOf(seq), data: makePayload(seq, PAD) });
      }
      return { req: this.#system.batchRequest(items), n: batch };
    };
    // BENCH_PUBLISH_CLIENT=http: node:http's client, as before (its own CPU cost shows in the
    // publisher CPU column); by default one raw keep-alive socket per request in flight.
    const raw = process.env.BENCH_PUBLISH_CLIENT !== 'http';
    const node = this.#system.publishNode;
    const loop = async (): Promise<void> => {
      const conn = raw ? new RawHttpConnection(node.host, node.port) : undefined;
      try {
        while (performance.now() - t0 < durationMs) {
          const { req, n } = makeReq();
          res.sent += n;
          const err = conn ? await rawSend(conn, req) : await this.#send(req);
          if (err === undefined) res.accepted += n;
          else {
            res.failed += n;
            res.firstError ??= err;
          }
        }
      } finally {
        conn?.close();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    return finish(res, t0, cpu0);
  }
}

async function rawSend(conn: RawHttpConnection, req: PublishRequest): Promise<string | undefined> {
  try {
    const status = await conn.request(req);
    return status >= 200 && status < 300 ? undefined : `HTTP ${status}`;
  } catch (e) {
    return (e as Error).message;
  }
}

function finish(res: PublishResult, t0: number, cpu0: NodeJS.CpuUsage): PublishResult {
  res.ms = performance.now() - t0;
  res.rate = Math.round((res.accepted / res.ms) * 1000);
  const cpu = process.cpuUsage(cpu0);
  res.cpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / res.ms) * 1000) / 10;
  return res;
}
