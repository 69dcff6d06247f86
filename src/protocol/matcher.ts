/**
 * What the hub needs of a compiled pattern selector (a URI template or a URL pattern): a
 * literal prefix to index it by, a canonical key to share it by, and a match whose work is
 * bounded and counted.
 */
export interface TopicMatcher {
  /**
   * Every topic it matches starts with this text (may be empty): the index key. With
   * `urlBase`, a prefix of the topic's URL key (url-pattern.ts urlKey) instead.
   */
  readonly prefix: string;
  /** URL patterns: the base their topics resolve against, and `prefix` is of the URL key. */
  readonly urlBase?: string;
  /** Equal keys match exactly the same topics, so one compiled matcher can serve both. */
  readonly key: string;
  /**
   * Work weight: one call of `match` costs at most
   * `MATCH_STEPS_PER_WEIGHT * weight * (topic.length + 1)` steps. At least 1.
   */
  readonly weight: number;
  /** Estimated bytes the compiled form holds (budget accounting), at least what it really holds. */
  readonly size: number;
  /** Whether `topic` matches; adds the steps it took to `meter` when given. */
  match(topic: string, meter?: MatchMeter): boolean;
}

/** Counts matcher work (characters examined, table entries built), so a bound can be asserted. */
export interface MatchMeter {
  steps: number;
}

/** Upper bound of steps per unit of `TopicMatcher.weight` per topic character (plus one). */
export const MATCH_STEPS_PER_WEIGHT = 7;
