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
