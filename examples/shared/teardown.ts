// What an example started, stopped in reverse order: by `close()`, or by `start()` itself when
// a later step fails (a pinned port already in use), so a failed start leaves nothing behind.

export class Teardown {
  readonly #steps: { what: string; stop: () => unknown }[] = [];
  #done: Promise<void> | undefined;

  /** Registers how to stop something just started; returns it for chaining. */
  add<T>(what: string, value: T, stop: (value: T) => unknown): T {
    this.#steps.push({ what, stop: () => stop(value) });
    return value;
  }

  /**
   * Stops everything, newest first. A step that fails does not keep the others from running;
   * the first failure is thrown at the end. Calling it again returns the same promise.
   */
  run(): Promise<void> {
    this.#done ??= (async () => {
      const failures: unknown[] = [];
      for (const step of this.#steps.reverse()) {
        try {
          await step.stop();
        } catch (e) {
          failures.push(new Error(`stopping ${step.what} failed: ${(e as Error).message}`, { cause: e }));
        }
      }
      if (failures.length > 0) throw failures[0];
    })();
    return this.#done;
  }

  /** Runs `build`; if it throws, stops what it had started and rethrows. */
  async guard<T>(build: () => Promise<T>): Promise<T> {
    try {
      return await build();
    } catch (e) {
      await this.run().catch(() => undefined);
      throw e;
    }
  }
}
