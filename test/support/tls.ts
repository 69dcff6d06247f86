import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDevCert, type DevCert } from '../../scripts/dev-cert.ts';

/** A fresh self-signed pair for 127.0.0.1/localhost in a temp dir; `remove()` when done. */
export function testCert(): DevCert & { ca: Buffer; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
  const cert = makeDevCert(dir, 1);
  return {
    ...cert,
    ca: readFileSync(cert.certFile),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
