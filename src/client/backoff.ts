/** Reconnect delays: exponential growth, capped, with full jitter. */
export interface BackoffOptions {
  /** First delay ceiling in ms (a server `retry:` replaces it). Default 500. */
  initialMs?: number;
  /** Largest delay ceiling in ms. Default 30 000. */
  maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /** Source of randomness in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

/**
 * Delay before reconnect attempt `attempt` (0 = first): a uniform pick in
 * [0, min(max, base * factor^attempt)], so many clients cut at once do not come back at once.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, baseMs?: number): number {
  const base = baseMs ?? options.initialMs ?? 500;
  const max = Math.max(base, options.maxMs ?? 30_000);
  const ceiling = Math.min(max, base * Math.pow(options.factor ?? 2, Math.min(attempt, 30)));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}
