// RFC 9068 access-token checks, done the way a resource server does them:
// jose verifies the signature against the tenant's published JWK Set.

import assert from 'node:assert/strict';
import * as jose from 'jose';
import { get } from './http.mjs';
import { audList, scopeSet } from './checks.mjs';

/**
 * Verify `jwt` as an RFC 9068 access token of tenant `t` issued to `client`.
 * @param {import('./fixture.mjs').Tenant} t
 * @param {string} jwt
 * @param {{client: {client_id: string, allowed_scopes?: string[]}, audience?: string,
 *          scopes?: string[], allowedScopes?: string[], ttl?: number}} expect
 *   audience defaults to the issuer (no resource requested); ttl defaults to 300 s.
 */
export async function checkAccessToken(t, jwt, expect) {
  const audience = expect.audience ?? t.issuer;
  const ttl = expect.ttl ?? 300;
  const header = jose.decodeProtectedHeader(jwt);
  assert.equal(header.typ, 'at+jwt', `JWT header typ (RFC 9068 §2.1): ${JSON.stringify(header)}`);
  assert.equal(header.alg, 'ES256', `JWT header alg (default ES256): ${JSON.stringify(header)}`);
  assert.equal(typeof header.kid, 'string', `JWT header has a kid: ${JSON.stringify(header)}`);

  const jwksRes = await get(t.as.jwks_uri);
  const kids = (jwksRes.json?.keys || []).map((k) => k.kid);
  assert.ok(kids.includes(header.kid), `token kid ${header.kid} is published at jwks_uri (kids: ${kids.join(', ')})`);

  let verified;
  try {
    verified = await t.verify(jwt, { audience });
  } catch (e) {
    assert.fail(
      `jose jwtVerify (typ at+jwt, iss ${t.issuer}, aud ${audience}, ES256) rejected the token: ` +
        `${e.code || ''} ${e.message}; claims: ${JSON.stringify(jose.decodeJwt(jwt))}`,
    );
  }
  const p = verified.payload;
  const claims = JSON.stringify(p);
  assert.equal(p.iss, t.issuer, `iss: ${claims}`);
  assert.equal(p.sub, expect.client.client_id, `sub is the client's id for client_credentials: ${claims}`);
  assert.equal(p.client_id, expect.client.client_id, `client_id: ${claims}`);
  assert.deepEqual(audList(p.aud), [audience], `aud is exactly ${audience}: ${claims}`);
  assert.ok(Number.isInteger(p.iat) && Number.isInteger(p.exp), `iat and exp are integers (NumericDate): ${claims}`);
  assert.ok(p.exp > p.iat, `exp > iat: ${claims}`);
  assert.equal(p.exp - p.iat, ttl, `exp - iat is the tenant's access_token_ttl ${ttl}: ${claims}`);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(p.iat - now) <= 60, `iat is now (±60 s), got ${p.iat}, now ${now}`);
  assert.equal(typeof p.jti, 'string', `jti: ${claims}`);
  assert.ok(p.jti.length >= 16, `jti has enough entropy to be unique: ${claims}`);
  if (p.nbf !== undefined) assert.ok(p.nbf <= now + 5, `nbf is not in the future: ${claims}`);
  assert.equal(typeof p.scope, 'string', `scope claim is a space-separated string: ${claims}`);
  const got = scopeSet(p.scope);
  const ceiling = expect.allowedScopes ?? expect.client.allowed_scopes;
  if (ceiling) {
    for (const s of got) assert.ok(ceiling.includes(s), `scope ${s} is within the client's allowed_scopes ${ceiling}: ${claims}`);
  }
  if (expect.scopes) {
    assert.deepEqual([...got].sort(), [...expect.scopes].sort(), `scope claim: ${claims}`);
  }
  return { header, payload: p };
}
