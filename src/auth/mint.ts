import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

export interface MintOptions {
  secret: string;
  publish?: string[];
  subscribe?: string[];
  subject?: string;
  payload?: unknown;
  admin?: boolean;
  /** Lifetime such as `1h`, `30m`, `7d`; omit for a token that never expires. */
  ttl?: string;
  algorithm?: 'HS256' | 'HS384' | 'HS512';
}

/** Signs a Mercure JWT with a shared secret (dev tokens, tests, the CLI). */
export async function mintToken(options: MintOptions): Promise<string> {
  const mercure: Record<string, unknown> = {};
  if (options.publish) mercure['publish'] = options.publish;
  if (options.subscribe) mercure['subscribe'] = options.subscribe;
  if (options.payload !== undefined) mercure['payload'] = options.payload;
  const claims: Record<string, unknown> = { mercure };
  if (options.admin) claims['herald'] = { admin: true };
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.algorithm ?? 'HS256' }).setIssuedAt();
  if (options.subject) jwt.setSubject(options.subject);
  if (options.ttl) jwt.setExpirationTime(options.ttl.match(/^\d+$/) ? `${options.ttl}s` : options.ttl);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

/** One Mercure authorization detail to put in a draft-08 access token. */
export interface MintDetail {
  actions: ('publish' | 'subscribe')[];
  /** Matchers; `match_type` defaults to `exact`. */
  topics: { match: string; match_type?: 'exact' | 'urlpattern' }[];
  payload?: Record<string, unknown>;
}

export interface MintAccessOptions {
  secret: string;
  /** `iss`: an issuer the hub trusts with this secret (`--token-issuers`). */
  issuer: string;
  /** `aud`: the hub's resource identifier (`--resource`, default its URL). */
  audience: string;
  details: MintDetail[];
  subject?: string;
  /** `client_id`; default the issuer. */
  clientId?: string;
  admin?: boolean;
  /** Lifetime such as `1h` (default); draft-08 tokens always expire. */
  ttl?: string;
  algorithm?: 'HS256' | 'HS384' | 'HS512';
}

/**
 * Signs a Mercure draft-08 access token (RFC 9068: `typ: at+jwt`, with `iss`, `aud`, `exp`,
 * `sub`, `client_id`, `iat`, `jti`) carrying `authorization_details`.
 */
export async function mintAccessToken(options: MintAccessOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    client_id: options.clientId ?? options.issuer,
    authorization_details: options.details.map((d) => ({
      type: 'https://mercure.rocks/authorization-detail',
      ...d,
    })),
  };
  if (options.admin) claims['herald'] = { admin: true };
  const ttl = options.ttl ?? '1h';
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.algorithm ?? 'HS256', typ: 'at+jwt' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject ?? options.clientId ?? options.issuer)
    .setIssuedAt()
    .setJti(`urn:uuid:${randomUUID()}`)
    .setExpirationTime(/^\d+$/.test(ttl) ? `${ttl}s` : ttl)
    .sign(new TextEncoder().encode(options.secret));
}
