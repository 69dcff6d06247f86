// The worker: checks each URL with the inspection API and tells the hub what it found.
// It keeps no counters and no connections to browsers: the hub does both.
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
  #wake: (() => void) | undefined;
  #stopped = false;
  #busy = false;
  readonly done: Promise<void>;

  constructor(readonly options: WorkerOptions) {
    this.done = this.#loop();
  }

  enqueue(jobs: UrlJob[]): void {
    this.#queue.push(...jobs);
    this.#wake?.();
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
      const verdict = await this.#check(job.url);
      const counts = { totalProcessed: 1, [verdict === 'error' ? 'errors' : verdict]: 1 };
      // One request, two counters: the project's and the overall one. The hub adds them up
      // atomically, however many workers publish at once.
      await this.options
        .publish(
          [job.projectId, undefined].map((p) => ({ topics: [statsTopic(p)], patch: { $inc: counts } })),
        )
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
