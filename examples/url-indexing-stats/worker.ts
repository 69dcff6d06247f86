// The worker: checks each URL with the inspection API and tells the hub what changed.
// It keeps no counters and no connections to browsers: the hub does both. It remembers each
// URL's last verdict (what a real tool keeps in its database), so the numbers count URLs, not
// checks: checking a URL again moves a count only when the verdict changed.
import type { Publication } from '../shared/herald.ts';
import type { Verdict } from './index-checker.ts';

export interface UrlJob {
  projectId: string;
  url: string;
}

export const statsTopic = (projectId?: string) =>
  `https://herald.example/url-stats/${projectId ? `projects/${projectId}` : 'all'}`;

export interface WorkerOptions {
  checkerUrl: string;
  publish(updates: Publication[]): Promise<unknown>;
  /** Pause between two URLs, so a person can watch the numbers move. */
  delayMs: number;
}

/** Checks queued URLs one by one, for as long as it runs. */
export class IndexingWorker {
  readonly #queue: UrlJob[] = [];
  /** URLs in the queue: a URL queued twice is checked once. */
  readonly #queued = new Set<string>();
  /** The last verdict of every URL checked so far. */
  readonly #verdicts = new Map<string, Verdict>();
  #wake: (() => void) | undefined;
  #stopped = false;
  #busy = false;
  readonly done: Promise<void>;

  constructor(readonly options: WorkerOptions) {
    this.done = this.#loop();
  }

  /** Queues the URLs not queued already; returns how many that was. */
  enqueue(jobs: UrlJob[]): number {
    const fresh = jobs.filter((j) => !this.#queued.has(j.url));
    for (const j of fresh) this.#queued.add(j.url);
    this.#queue.push(...fresh);
    this.#wake?.();
    return fresh.length;
  }

  /** Resolves once the queue is empty and the last URL's numbers are published. */
  async idle(): Promise<void> {
    while (this.#queue.length > 0 || this.#busy) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    return this.done;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const job = this.#queue.shift();
      if (!job) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      this.#busy = true;
      this.#queued.delete(job.url);
      const verdict = await this.#check(job.url);
      const before = this.#verdicts.get(job.url);
      this.#verdicts.set(job.url, verdict);
      const key = (v: Verdict) => (v === 'error' ? 'errors' : v);
      // A new URL counts once; a URL checked again moves from its old verdict to its new one.
      const counts =
        before === undefined
          ? { totalProcessed: 1, [key(verdict)]: 1 }
          : before === verdict
            ? undefined
            : { [key(before)]: -1, [key(verdict)]: 1 };
      const patch = { lastCheck: { url: job.url, verdict, at: new Date().toISOString() }, $inc: counts };
      // One request, two topics: the project's and the overall one. The hub applies the
      // increments atomically, however many workers publish at once.
      await this.options
        .publish([job.projectId, undefined].map((p) => ({ topics: [statsTopic(p)], patch })))
        .catch((e: unknown) => console.error(`could not publish stats for ${job.url}:`, e));
      this.#busy = false;
      await new Promise((resolve) => setTimeout(resolve, this.options.delayMs));
    }
  }

  async #check(url: string): Promise<Verdict> {
    try {
      const res = await fetch(`${this.options.checkerUrl}/check?url=${encodeURIComponent(url)}`);
      if (!res.ok) return 'error';
      const body = (await res.json()) as { indexed?: unknown };
      return body.indexed === true ? 'indexed' : 'notIndexed';
    } catch {
      return 'error';
    }
  }
}
