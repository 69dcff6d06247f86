import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A verification key with the algorithms it may be used with (never `none`). */
export interface VerificationKey {
  key: KeyObject;
  algorithms: string[];
}

const HMAC = ['HS256', 'HS384', 'HS512'];

/** A shared secret for HS256/384/512. */
export function secretKey(secret: string): VerificationKey {
  if (secret.length < 8) throw new Error('JWT secret must be at least 8 characters');
  return { key: createSecretKey(Buffer.from(secret, 'utf8')), algorithms: HMAC };
}

/** A public key (PEM text); the algorithms follow from its type and curve. */
export function publicKeyFromPem(pem: string, origin = 'PEM'): VerificationKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new Error(`${origin} is not a PEM public key (or certificate): ${(e as Error).message}`, {
      cause: e,
    });
  }
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { key, algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] };
    case 'rsa-pss':
      return { key, algorithms: ['PS256', 'PS384', 'PS512'] };
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const alg =
        curve === 'prime256v1'
          ? 'ES256'
          : curve === 'secp384r1'
            ? 'ES384'
            : curve === 'secp521r1'
              ? 'ES512'
              : undefined;
      if (!alg) throw new Error(`${origin}: unsupported EC curve ${curve ?? 'unknown'}`);
      return { key, algorithms: [alg] };
    }
    case 'ed25519':
    case 'ed448':
      return { key, algorithms: ['EdDSA'] };
    default:
      throw new Error(`${origin}: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}

export function publicKeyFromFile(path: string): VerificationKey {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read JWT key file ${path}: ${(e as Error).message}`, { cause: e });
  }
  return publicKeyFromPem(pem, path);
}
