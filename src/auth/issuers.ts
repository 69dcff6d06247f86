import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Role } from './authorizer.ts';
import type { VerificationKey } from './keys.ts';

export { DEV_ISSUER } from './dev-issuer.ts';

/** Asymmetric algorithms accepted with keys from a JWK Set (never `none`, never HMAC). */
export const JWKS_ALGORITHMS = [
  'EdDSA',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];

/** How the tokens of one trusted issuer (`iss`) are verified: its own keys, never another's. */
export type IssuerKeys =
  | { kind: 'static'; publisher: VerificationKey | undefined; subscriber: VerificationKey | undefined }
  | { kind: 'jwks'; keys: JWTVerifyGetKey; algorithms: string[] };

/** The key (or key resolver) and algorithms to verify a token of this issuer for a role. */
export function keyForRole(
  issuer: IssuerKeys,
  role: Role,
): { key: VerificationKey['key'] | JWTVerifyGetKey; algorithms: string[] } | undefined {
  if (issuer.kind === 'jwks') return { key: issuer.keys, algorithms: issuer.algorithms };
  const k = role === 'publisher' ? issuer.publisher : issuer.subscriber;
  return k === undefined ? undefined : { key: k.key, algorithms: k.algorithms };
}

/**
 * A JWK Set from a file or an HTTPS URL. A remote set is fetched by jose when a token names
 * a `kid` it does not have yet (cached, with a cooldown between fetches), so key rotation at
 * the issuer needs no restart.
 */
export function jwksFrom(location: string): IssuerKeys {
  if (/^https:\/\//i.test(location))
    return {
      kind: 'jwks',
      keys: createRemoteJWKSet(new URL(location), { timeoutDuration: 5000, cooldownDuration: 30_000 }),
      algorithms: JWKS_ALGORITHMS,
    };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location))
    throw new Error(`JWK Set ${location}: only https:// URLs or file paths are accepted`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(location, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read JWK Set ${location}: ${(e as Error).message}`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys))
    throw new Error(`JWK Set ${location} has no "keys" array`);
  return { kind: 'jwks', keys: createLocalJWKSet(doc as JSONWebKeySet), algorithms: JWKS_ALGORITHMS };
}

/** Parses `ISSUER=LOCATION` (the `--issuer-jwks` setting), split at the first `=`. */
export function parseIssuerJwks(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  if (eq <= 0 || eq === entry.length - 1)
    throw new Error(`issuer-jwks entry ${JSON.stringify(entry)} must be ISSUER=FILE_OR_HTTPS_URL`);
  return [entry.slice(0, eq), entry.slice(eq + 1)];
}
