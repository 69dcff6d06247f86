// Three background services that report what they do. Each one publishes its status (state and
// queue counts) whenever it changes, and a log line per event; it never talks to a browser.
import type { Publication } from '../shared/herald.ts';

export const statusTopic = (service: string) => `https://herald.example/services/${service}/status`;
export const logTopic = 'https://herald.example/services/logs';

export interface ServiceStatus {
  service: string;
  state: 'idle' | 'running';
  queued: number;
  processed: number;
  failed: number;
  /** When `state` last changed. */
  since: string;
  lastRunAt: string | null;
}

export interface ServiceOptions {
  publish(updates: Publication[]): Promise<unknown>;
  /** Time one queued item takes. */
  stepMs: number;
}

/** A service with a queue that it drains on each run; `run` while running joins the current run. */
export class BackgroundService {
  readonly status: ServiceStatus;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    name: string,
    private readonly options: ServiceOptions,
    /** Works on one item; false means it failed. */
    private readonly work: (item: number) => boolean | Promise<boolean>,
    /** Items added to the queue at the start of every run. */
    private readonly refill = () => 0,
  ) {
    const now = new Date().toISOString();
    this.status = {
      service: name,
      state: 'idle',
      since: now,
      queued: 0,
      processed: 0,
      failed: 0,
      lastRunAt: null,
    };
  }

  every(ms: number): this {
    this.#timer = setInterval(() => void this.run('schedule'), ms);
    return this;
  }

  enqueue(n: number): void {
    this.status.queued += n;
    void this.#report();
  }

  run(reason: 'schedule' | 'manual'): Promise<void> {
    this.#running ??= this.#drain(reason).finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Resolves when the current run (if any) has finished. */
  async idle(): Promise<void> {
    await this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async #drain(reason: string): Promise<void> {
    const s = this.status;
    s.queued += this.refill();
    if (s.queued === 0) return;
    const now = new Date().toISOString();
    Object.assign(s, { state: 'running', since: now, lastRunAt: now });
    await this.#report(`${reason} run started, ${s.queued} queued`);
    const before = { processed: s.processed, failed: s.failed };
    while (s.queued > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.options.stepMs));
      const ok = await this.work(s.processed + s.failed + 1);
      s.queued--;
      s[ok ? 'processed' : 'failed']++;
      await this.#report(ok ? undefined : `item ${s.processed + s.failed} failed`, ok ? 'info' : 'warn');
    }
    Object.assign(s, { state: 'idle', since: new Date().toISOString() });
    await this.#report(
      `${reason} run finished: ${s.processed - before.processed} done, ${s.failed - before.failed} failed`,
    );
  }

  /** Publishes the status, and a log line if given, in one request. A hub outage is logged, not fatal. */
  async #report(message?: string, level: 'info' | 'warn' = 'info'): Promise<void> {
    const updates: Publication[] = [{ topics: [statusTopic(this.status.service)], data: this.status }];
    if (message) {
      const line = { at: new Date().toISOString(), service: this.status.service, level, message };
      updates.push({ topics: [logTopic], data: line });
    }
    await this.options.publish(updates).catch((e: unknown) => {
      console.warn(`${this.status.service}: status not published (${(e as Error).message})`);
    });
  }
}

/** Balance sync refreshes 5 accounts per run; discovery finds accounts that enrichment then works on. */
export function createServices(options: ServiceOptions) {
  const enrichment = new BackgroundService('account-enrichment', options, (n) => n % 7 !== 0);
  const discovery = new BackgroundService(
    'account-discovery',
    options,
    () => (enrichment.enqueue(1), true),
    () => 2,
  );
  const balanceSync = new BackgroundService(
    'balance-sync',
    options,
    () => true,
    () => 5,
  );
  return { 'balance-sync': balanceSync, 'account-discovery': discovery, 'account-enrichment': enrichment };
}
