import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { SelectorSet } from '../protocol/selector.ts';
import { parseAuthorizationDetails } from './authorization-details.ts';
import type { Authorizer, Role } from './authorizer.ts';
import { keyForRole, type IssuerKeys } from './issuers.ts';
import type { VerificationKey } from './keys.ts';
import { ANONYMOUS, type Principal } from './principal.ts';

/**
 * Mercure draft-08 access tokens (RFC 9068, `typ: at+jwt`): whom the hub trusts and what it
 * is called. Without it, such tokens are refused.
 */
export interface AccessTokenOptions {
  /** The hub's resource identifier: must be in every token's `aud`. */
  resource: string;
  /** Trusted issuers (`iss`), each with its own keys. */
  issuers: ReadonlyMap<string, IssuerKeys>;
  /** Base URL of relative URL patterns in grants (the hub URL). */
  hubUrl: string;
}

/** `at+jwt` or `application/at+jwt`, any case (RFC 7515 §4.1.9). */
export function isAccessTokenType(typ: unknown): boolean {
  return typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === 'at+jwt';
}

/** Whether a token says it is a draft-08 access token (header only, nothing verified). */
export function looksLikeAccessToken(token: string): boolean {
  try {
    return isAccessTokenType(decodeProtectedHeader(token).typ);
  } catch {
    return false;
  }
}

export interface JwtAuthorizerOptions {
  publisherKey: VerificationKey | undefined;
  subscriberKey: VerificationKey | undefined;
  /** Subscribers without a token get public updates only. */
  anonymous: boolean;
  /** Verified tokens remembered (per role) so a publisher's repeated token is checked once; 0 = off. */
  cacheSize?: number;
  /**
   * Bytes the remembered tokens may take (token text and what was built from its claims);
   * a token over a sixteenth of it is verified every time, never remembered.
   */
  cacheBytes?: number;
  /** Clock for the cache's expiry checks (tests). */
  now?: () => number;
  /** Draft-08 access tokens; draft-07 tokens (a `mercure` claim) need only the keys above. */
  accessTokens?: AccessTokenOptions;
}

/** Default number of verified tokens remembered. */
export const DEFAULT_TOKEN_CACHE = 4096;
/** Default byte budget of the verified-token cache. */
export const DEFAULT_TOKEN_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * What one cached token is taken to cost: its text in the key, and the principal built from
 * its claims (the claims are part of the token, so their compiled form is taken as as much
 * again), plus the entry itself.
 */
function entryBytes(cacheKey: string): number {
  return 2 * cacheKey.length + 256;
}

interface CachedPrincipal {
  principal: Principal;
  bytes: number;
}

interface MercureClaim {
  publish?: unknown;
  subscribe?: unknown;
  payload?: unknown;
}

function unauthorized(message: string, code: ErrorCode = ErrorCode.unauthorized): HeraldError {
  // Every failure of a presented token is RFC 6750 `invalid_token` (the default for a 401).
  return new HeraldError(code, message);
}

function selectorList(value: unknown, name: string): SelectorSet | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw unauthorized(`token claim mercure.${name} must be an array of strings`);
  if (value.length === 0) return undefined;
  try {
    return new SelectorSet(value as string[]);
  } catch (e) {
    throw unauthorized(`token claim mercure.${name} has a bad selector: ${(e as Error).message}`);
  }
}

/**
 * Verifies Mercure tokens with jose, in both dialects: a token whose header says `typ: at+jwt`
 * is a draft-08 access token (issuer keys, `aud`, `exp`, `authorization_details`); any other
 * is a draft-07 JWT (the role's key, the `mercure` claim).
 */
export class JwtAuthorizer implements Authorizer {
  readonly #options: JwtAuthorizerOptions;
  readonly #cacheSize: number;
  readonly #now: () => number;
  /**
   * `role + token` -> principal, for tokens that passed verification. The signature and claims
   * of a given string never change, so only expiry has to be checked again; a publisher
   * sending one token with every request pays the HMAC/RSA check once. Map order is insertion
   * order: the oldest entry is evicted first.
   */
  readonly #verified = new Map<string, CachedPrincipal>();
  readonly #cacheBytes: number;
  #cachedBytes = 0;

  constructor(options: JwtAuthorizerOptions) {
    this.#options = options;
    this.#cacheSize = options.cacheSize ?? DEFAULT_TOKEN_CACHE;
    this.#cacheBytes = options.cacheBytes ?? DEFAULT_TOKEN_CACHE_BYTES;
    this.#now = options.now ?? Date.now;
  }

  /** Bytes the verified-token cache is taken to hold (at most `cacheBytes`). */
  get cachedBytes(): number {
    return this.#cachedBytes;
  }

  async authenticate(token: string | undefined, role: Role): Promise<Principal> {
    if (token === undefined || token === '') {
      if (role === 'subscriber' && this.#options.anonymous) return ANONYMOUS;
      throw new HeraldError(
        ErrorCode.unauthorized,
        role === 'publisher'
          ? 'publishing requires a JWT (Authorization: Bearer)'
          : 'subscribing requires a JWT',
        { bearer: 'none' },
      );
    }
    const cacheKey = `${role}:${token}`;
    const cached = this.#verified.get(cacheKey);
    if (cached !== undefined) {
      const known = cached.principal;
      // Same rule as jose's own check: expired once now reaches `exp`.
      if (known.expiresAt === undefined || this.#now() < known.expiresAt) return known;
      this.#forget(cacheKey, cached);
      throw unauthorized('token expired', ErrorCode.tokenExpired);
    }
    const principal = looksLikeAccessToken(token)
      ? await this.#verifyAccessToken(token, role)
      : await this.#verifyMercureToken(token, role);
    this.#remember(cacheKey, principal);
    return principal;
  }

  async #verifyMercureToken(token: string, role: Role): Promise<Principal> {
    const key = role === 'publisher' ? this.#options.publisherKey : this.#options.subscriberKey;
    if (!key) throw unauthorized(`no ${role} JWT key is configured on this hub`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key.key, {
        algorithms: key.algorithms,
        currentDate: new Date(this.#now()),
      }));
    } catch (e) {
      throw this.#explain(e);
    }
    return this.#principal(payload);
  }

  /**
   * A draft-08 access token: only the keys of its own `iss` are tried (never a pool spanning
   * issuers); `aud` must hold the resource identifier; `exp` is required.
   */
  async #verifyAccessToken(token: string, role: Role): Promise<Principal> {
    const access = this.#options.accessTokens;
    if (!access) throw unauthorized('this hub is not configured for access tokens (typ at+jwt)');
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw unauthorized('token is malformed');
    }
    if (typeof iss !== 'string') throw unauthorized('access token has no iss claim');
    const issuer = access.issuers.get(iss);
    if (!issuer)
      throw unauthorized(`access token issuer ${JSON.stringify(iss.slice(0, 100))} is not trusted`);
    const key = keyForRole(issuer, role);
    if (!key)
      throw unauthorized(`no ${role} key is configured for issuer ${JSON.stringify(iss.slice(0, 100))}`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key.key as Parameters<typeof jwtVerify>[1], {
        algorithms: key.algorithms,
        issuer: iss,
        audience: access.resource,
        requiredClaims: ['exp'],
        currentDate: new Date(this.#now()),
      }));
    } catch (e) {
      throw this.#explain(e);
    }
    const grants = parseAuthorizationDetails(payload['authorization_details'], access.hubUrl);
    const herald = payload['herald'];
    return {
      subject: typeof payload.sub === 'string' ? payload.sub : undefined,
      anonymous: false,
      publish: grants.publish,
      subscribe: grants.subscribe,
      payload: undefined,
      payloadFor: grants.payloadFor,
      expiresAt: expiryMs(payload.exp!),
      admin:
        typeof herald === 'object' &&
        herald !== null &&
        (herald as Record<string, unknown>)['admin'] === true,
      dialect: 'draft-08',
    };
  }

  #remember(cacheKey: string, principal: Principal): void {
    const bytes = entryBytes(cacheKey);
    if (this.#cacheSize <= 0 || bytes > this.#cacheBytes / 16 || this.#verified.has(cacheKey)) return;
    // Oldest first, until both the count and the bytes fit.
    for (const [key, entry] of this.#verified) {
      if (this.#verified.size < this.#cacheSize && this.#cachedBytes + bytes <= this.#cacheBytes) break;
      this.#forget(key, entry);
    }
    this.#verified.set(cacheKey, { principal, bytes });
    this.#cachedBytes += bytes;
  }

  #forget(cacheKey: string, entry: CachedPrincipal): void {
    this.#verified.delete(cacheKey);
    this.#cachedBytes -= entry.bytes;
  }

  #explain(e: unknown): HeraldError {
    if (e instanceof errors.JWTExpired) return unauthorized('token expired', ErrorCode.tokenExpired);
    if (e instanceof errors.JOSEAlgNotAllowed) return unauthorized('token algorithm not allowed');
    if (e instanceof errors.JWSSignatureVerificationFailed) return unauthorized('token signature is invalid');
    if (e instanceof errors.JWTClaimValidationFailed)
      return unauthorized(`token claim invalid: ${e.message}`);
    if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid)
      return unauthorized('token is malformed');
    if (e instanceof errors.JWKSNoMatchingKey) return unauthorized('no key of the issuer matches the token');
    if (e instanceof errors.JOSEError) return unauthorized(`token rejected: ${e.code}`);
    return unauthorized('token rejected');
  }

  #principal(payload: JWTPayload): Principal {
    const raw = payload['mercure'];
    if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw)))
      throw unauthorized('token claim mercure must be an object');
    const mercure = (raw ?? {}) as MercureClaim;
    const herald = payload['herald'];
    const admin =
      typeof herald === 'object' && herald !== null && (herald as Record<string, unknown>)['admin'] === true;
    let subject = typeof payload.sub === 'string' ? payload.sub : undefined;
    const p = mercure.payload;
    if (subject === undefined && typeof p === 'object' && p !== null) {
      const s = (p as Record<string, unknown>)['sub'] ?? (p as Record<string, unknown>)['user'];
      if (typeof s === 'string' || typeof s === 'number') subject = String(s);
    }
    return {
      subject,
      anonymous: false,
      publish: selectorList(mercure.publish, 'publish'),
      subscribe: selectorList(mercure.subscribe, 'subscribe'),
      payload: mercure.payload,
      expiresAt: typeof payload.exp === 'number' ? expiryMs(payload.exp) : undefined,
      admin,
    };
  }
}

/**
 * `exp` in milliseconds. A claim near Number.MAX_VALUE would overflow to Infinity, which
 * timers and arithmetic downstream do not expect: such a token never expires in practice.
 */
function expiryMs(exp: number): number {
  return Math.min(exp * 1000, Number.MAX_SAFE_INTEGER);
}
