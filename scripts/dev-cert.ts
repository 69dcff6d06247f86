/**
 * `npm run dev:cert [dir]`: a self-signed certificate for localhost, 127.0.0.1 and ::1, so a
 * local hub can serve HTTPS with HTTP/2:
 *
 *   npx herald serve --dev --tls-cert .certs/cert.pem --tls-key .certs/key.pem
 *
 * Browsers do not trust it; accept it once at https://localhost:3000/healthz or start Chromium
 * with the `--ignore-certificate-errors-spki-list` value printed here. Needs `openssl` on PATH.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DevCert {
  certFile: string;
  keyFile: string;
  /** base64 SHA-256 of the public key, for Chromium's `--ignore-certificate-errors-spki-list`. */
  spki: string;
}

/** Writes `cert.pem` and `key.pem` (P-256, valid `days`) into `dir`. */
export function makeDevCert(dir: string, days = 30): DevCert {
  mkdirSync(dir, { recursive: true });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      String(days),
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { certFile, keyFile, spki: spkiHash(readFileSync(keyFile)) };
}

export function spkiHash(privateKeyPem: Buffer | string): string {
  const der = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? '.certs');
  const { certFile, keyFile, spki } = makeDevCert(dir);
  console.log(`wrote ${certFile} and ${keyFile} (self-signed, 30 days)`);
  console.log(`  npx herald serve --dev --tls-cert ${certFile} --tls-key ${keyFile}`);
  console.log(`  chromium --user-data-dir=/tmp/herald-dev --ignore-certificate-errors-spki-list=${spki}`);
}
