// External issuers for trust policies (SPEC §4.4, §7): key pairs made with
// jose, JWTs shaped like Kubernetes service-account tokens, SPIFFE JWT-SVIDs
// and an external IdP's ID/access tokens, a tiny JWKS server on 127.0.0.1,
// and the trust-policy admin calls.

import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import * as jose from 'jose';

const enc = encodeURIComponent;

export const K8S_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const SPIFFE_ISSUER = 'https://spire.example.org';
export const IDP_ISSUER = 'https://idp.example.test/realms/staff';

export const now = () => Math.floor(Date.now() / 1000);

/** An asymmetric key pair: {alg, kid, privateKey, publicJwk (with kid, alg, use)}. */
export async function keyPair(alg = 'ES256', kid = `k-${randomBytes(4).toString('hex')}`) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicJwk };
}

export function jwksOf(...keys) {
  return { keys: keys.map((k) => k.publicJwk) };
}

/**
 * Sign `claims` with `key`. Claims given as {exp: '+3600'} / {iat: '-120'} are
 * relative to now; null removes a default. `header` overrides the protected header.
 */
export async function sign(key, claims, header = {}) {
  const t = now();
  const payload = {};
  for (const [k, v] of Object.entries(claims)) {
    if (v === null || v === undefined) continue;
    payload[k] = typeof v === 'string' && /^[+-]\d+$/.test(v) && ['exp', 'iat', 'nbf'].includes(k) ? t + Number(v) : v;
  }
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

function merge(base, over) {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/**
 * A projected Kubernetes service-account token (what the kubelet mounts for
 * a pod with a serviceAccountToken volume of the given audience).
 */
export function k8sClaims({ namespace = 'agents', serviceAccount = 'summariser', aud, iss = K8S_ISSUER, ...over } = {}) {
  const podName = `${serviceAccount}-7d9f8c6b5-${randomBytes(3).toString('hex')}`;
  return merge(
    {
      aud: aud === null ? null : [aud].flat(),
      exp: '+3600',
      iat: '-5',
      nbf: '-5',
      iss,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace,
        node: { name: 'worker-1', uid: randomUUID() },
        pod: { name: podName, uid: randomUUID() },
        serviceaccount: { name: serviceAccount, uid: randomUUID() },
      },
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    },
    over,
  );
}

/** A SPIFFE JWT-SVID (SPIFFE JWT-SVID spec §3: sub = SPIFFE ID, aud, exp required). */
export function spiffeClaims({ trustDomain = 'example.org', path = '/ns/agents/sa/x', aud, iss = SPIFFE_ISSUER, ...over } = {}) {
  return merge(
    {
      sub: `spiffe://${trustDomain}${path}`,
      aud: aud === null ? null : [aud].flat(),
      exp: '+300',
      iat: '-2',
      iss,
    },
    over,
  );
}

/** An external IdP's token about a person (OIDC-style claims). */
export function idpClaims({ username, aud, iss = IDP_ISSUER, ...over } = {}) {
  return merge(
    {
      iss,
      sub: `f:${randomUUID()}:${username}`,
      aud,
      azp: 'staff-portal',
      exp: '+600',
      iat: '-1',
      auth_time: '-30',
      preferred_username: username,
      email: `${username}@example.test`,
      email_verified: true,
    },
    over,
  );
}

/**
 * A JWKS endpoint on 127.0.0.1: `url`, `fetches` (how many GETs it served),
 * `set(jwks)` to change what it serves, `close()`.
 */
export async function startJwksServer(jwks) {
  const s = {
    jwks,
    fetches: 0,
    url: '',
    set(j) {
      s.jwks = j;
    },
    close() {
      return new Promise((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      s.fetches += 1;
      res.writeHead(200, { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': 'max-age=300' });
      res.end(JSON.stringify(s.jwks));
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${server.address().port}/.well-known/jwks.json`;
  return s;
}

// ---------------------------------------------------------------- admin API

export function putPolicy(t, name, body) {
  return t.admin.call('PUT', `/tenants/${enc(t.slug)}/trust-policies/${enc(name)}`, body);
}

export async function mustPutPolicy(t, name, body) {
  const res = await putPolicy(t, name, body);
  assert.ok([200, 201].includes(res.status), `PUT trust policy ${name} answers 201 (or 200 on replace)\n  ${res.describe()}`);
  return res.json;
}

export function deletePolicy(t, name) {
  return t.admin.call('DELETE', `/tenants/${enc(t.slug)}/trust-policies/${enc(name)}`);
}
