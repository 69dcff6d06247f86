import { errors, jwtVerify, type JWTPayload } from 'jose';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { SelectorSet } from '../protocol/selector.ts';
import type { Authorizer, Role } from './authorizer.ts';
import type { VerificationKey } from './keys.ts';
import { ANONYMOUS, type Principal } from './principal.ts';

export interface JwtAuthorizerOptions {
  publisherKey: VerificationKey | undefined;
  subscriberKey: VerificationKey | undefined;
  /** Subscribers without a token get public updates only. */
  anonymous: boolean;
}

interface MercureClaim {
  publish?: unknown;
  subscribe?: unknown;
  payload?: unknown;
}

function unauthorized(message: string, code: ErrorCode = ErrorCode.unauthorized): HeraldError {
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

/** Verifies Mercure JWTs (the draft-07 `mercure` claim) with jose. */
export class JwtAuthorizer implements Authorizer {
  readonly #options: JwtAuthorizerOptions;

  constructor(options: JwtAuthorizerOptions) {
    this.#options = options;
  }

  async authenticate(token: string | undefined, role: Role): Promise<Principal> {
    if (token === undefined || token === '') {
      if (role === 'subscriber' && this.#options.anonymous) return ANONYMOUS;
      throw unauthorized(
        role === 'publisher'
          ? 'publishing requires a JWT (Authorization: Bearer)'
          : 'subscribing requires a JWT',
      );
    }
    const key = role === 'publisher' ? this.#options.publisherKey : this.#options.subscriberKey;
    if (!key) throw unauthorized(`no ${role} JWT key is configured on this hub`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key.key, { algorithms: key.algorithms }));
    } catch (e) {
      throw this.#explain(e);
    }
    return this.#principal(payload);
  }

  #explain(e: unknown): HeraldError {
    if (e instanceof errors.JWTExpired) return unauthorized('token expired', ErrorCode.tokenExpired);
    if (e instanceof errors.JOSEAlgNotAllowed) return unauthorized('token algorithm not allowed');
    if (e instanceof errors.JWSSignatureVerificationFailed) return unauthorized('token signature is invalid');
    if (e instanceof errors.JWTClaimValidationFailed)
      return unauthorized(`token claim invalid: ${e.message}`);
    if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid)
      return unauthorized('token is malformed');
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
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
      admin,
    };
  }
}
