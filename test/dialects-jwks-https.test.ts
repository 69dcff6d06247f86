import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import { localHubArgs, startHubProcess, type HubProcess } from './support/hub-process.ts';
import { testCert } from './support/tls.ts';

// Issue 17: `--issuer-jwks ISSUER=https://…` fetches the issuer's JWK Set over real HTTPS.
// The JWKS server's certificate is self-signed, made here; the hub process trusts it the way
// an operator would, with NODE_EXTRA_CA_CERTS, and a hub without it must refuse the token:
// nothing disables TLS verification.

const KEY = 'jwks-https-test-key-0123456789abcdef01';
const ISSUER = 'https://as.test';
const HUB = 'http://localhost/.well-known/mercure';

describe('draft-08 access tokens verified with a JWK Set served over HTTPS', () => {
  const cert = testCert();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const stranger = generateKeyPairSync('ed25519').privateKey;
  let jwks: Server;
  let jwksUrl: string;
  let fetches = 0;
  let trusting: HubProcess;
  let untrusting: HubProcess;

  before(async () => {
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    jwks = createServer(
      { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) },
      (req, res) => {
        if (req.url !== '/jwks.json') return void res.writeHead(404).end();
        fetches++;
        res
          .writeHead(200, { 'Content-Type': 'application/jwk-set+json' })
          .end(JSON.stringify({ keys: [jwk] }));
      },
    );
    jwks.listen(0, '127.0.0.1');
    await once(jwks, 'listening');
    jwksUrl = `https://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    const args = [...localHubArgs(KEY), '--issuer-jwks', `${ISSUER}=${jwksUrl}`, '--anonymous'];
    [trusting, untrusting] = await Promise.all([
      startHubProcess(args, { NODE_EXTRA_CA_CERTS: cert.certFile }),
      startHubProcess(args, { NODE_EXTRA_CA_CERTS: '' }),
    ]);
  });
  after(async () => {
    await Promise.all([trusting?.stop(), untrusting?.stop()]);
    jwks?.close();
    cert.remove();
  });

  const token = (signer = privateKey, kid = 'k1') =>
    new SignJWT({
      authorization_details: [
        {
          type: 'https://mercure.rocks/authorization-detail',
          actions: ['publish'],
          topics: [{ match: 'https://example.net/books/:id', match_type: 'urlpattern' }],
        },
      ],
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
      .setIssuer(ISSUER)
      .setAudience(HUB)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(signer);

  const publish = (hub: HubProcess, jwt: string) =>
    fetch(`${hub.url}/.well-known/mercure`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ topic: 'https://example.net/books/1', data: 'dune' }),
    });

  test('a token signed by the issuer is verified through the fetched JWK Set and publishes', async () => {
    const stream = await fetch(
      `${trusting.url}/.well-known/mercure?match_urlpattern=${encodeURIComponent('https://example.net/books/:id')}`,
    );
    assert.equal(stream.status, 200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    const res = await publish(trusting, await token());
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok(fetches >= 1, 'the hub fetched the JWK Set over HTTPS');
    let text = '';
    // Bounded: the update arrives or the test's own timeout ends it.
    while (!text.includes('data: dune')) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'stream ended before the update');
      text += value;
    }
    await reader.cancel();
  });

  test('a token signed by another key under the same kid is 401 invalid_token', async () => {
    const res = await publish(trusting, await token(stranger));
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('a hub that does not trust the JWKS server certificate verifies nothing with it', async () => {
    const before = fetches;
    const res = await publish(untrusting, await token());
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.equal(fetches, before, 'the TLS handshake failed before any request reached the server');
  });
});
