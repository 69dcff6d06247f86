import { STATS_TOPIC } from './stats.ts';

/**
 * Which Mercure revision the dashboard speaks: the token's own (docs/dialects.md). A draft-08
 * access token (`typ: at+jwt`) subscribes with `match=`; anything else with `topic=`.
 */
export function tokenDialect(token: string | null): 'draft-07' | 'draft-08' {
  if (!token) return 'draft-07';
  try {
    const part = token.split('.')[0] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const typ = (JSON.parse(json) as { typ?: unknown }).typ;
    return typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === 'at+jwt'
      ? 'draft-08'
      : 'draft-07';
  } catch {
    return 'draft-07';
  }
}

/**
 * The stream's selectors: the stats topic plus the tail selector. In draft-08 a tail selector
 * with a `/:name` group is a URL pattern, any other an exact topic (or `*`).
 */
export function liveSelectors(
  token: string | null,
  selector: string,
): { dialect: 'draft-07' | 'draft-08'; topics: string[]; patterns: string[] } {
  const dialect = tokenDialect(token);
  const extra = selector === '' || selector === STATS_TOPIC ? [] : [selector];
  if (dialect === 'draft-08' && extra.length === 1 && /\/:[A-Za-z_]/.test(selector))
    return { dialect, topics: [STATS_TOPIC], patterns: extra };
  return { dialect, topics: [STATS_TOPIC, ...extra], patterns: [] };
}
