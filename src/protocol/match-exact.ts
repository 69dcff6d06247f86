/**
 * Mercure draft-08 `exact` matching: case-sensitive comparison of the code units, no
 * resolution against any base and no Unicode or IRI normalization. Constant work per
 * character; nothing to compile or cache.
 */
export function exactMatches(matcher: string, topic: string): boolean {
  return matcher === topic;
}
