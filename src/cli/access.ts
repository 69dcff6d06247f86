import { DEV_ISSUER } from '../auth/issuers.ts';
import { mintAccessToken, type MintDetail } from '../auth/mint.ts';

/**
 * The hub's resource identifier (the `aud` its access tokens need), read from its RFC 9728
 * protected-resource metadata, so the CLI needs no `--audience` against a reachable hub.
 */
export async function discoverResource(hubUrl: URL): Promise<string> {
  const suffix = hubUrl.pathname === '/' ? '' : hubUrl.pathname.replace(/\/+$/, '');
  const where = new URL(`/.well-known/oauth-protected-resource${suffix}`, hubUrl);
  let res: Response;
  try {
    res = await fetch(where);
  } catch (e) {
    throw new Error(
      `cannot reach ${where.origin} to read its resource identifier (pass --audience): ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`,
      { cause: e },
    );
  }
  const doc = (await res.json().catch(() => undefined)) as { resource?: unknown } | undefined;
  if (!res.ok || typeof doc?.resource !== 'string')
    throw new Error(`${where} did not give a resource identifier (pass --audience)`);
  return doc.resource;
}

/** Grants from CLI flags: exact topics and URL patterns per action. */
export function cliDetails(grants: {
  publish?: string[];
  subscribe?: string[];
  publishPattern?: string[];
  subscribePattern?: string[];
  payload?: Record<string, unknown>;
}): MintDetail[] {
  const details: MintDetail[] = [];
  const topics = (exact: string[] = [], patterns: string[] = []) => [
    ...exact.map((match) => ({ match })),
    ...patterns.map((match) => ({ match, match_type: 'urlpattern' as const })),
  ];
  const pub = topics(grants.publish, grants.publishPattern);
  if (pub.length > 0) details.push({ actions: ['publish'], topics: pub });
  const sub = topics(grants.subscribe, grants.subscribePattern);
  if (sub.length > 0)
    details.push({
      actions: ['subscribe'],
      topics: sub,
      ...(grants.payload ? { payload: grants.payload } : {}),
    });
  return details;
}

export { DEV_ISSUER, mintAccessToken };
