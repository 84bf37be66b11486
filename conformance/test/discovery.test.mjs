// SPEC §2, RFC 8414: discovery metadata and the JWK Set.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { baseUrl, issuerFor } from '../lib/env.mjs';
import { get, postForm } from '../lib/http.mjs';
import { assertStatus, okJson } from '../lib/checks.mjs';
import { createTenant, insecure, randomSlug } from '../lib/fixture.mjs';

let t;
before(async () => {
  t = await createTenant('disc');
});

function metadataUrls(slug) {
  const base = baseUrl();
  const iss = issuerFor(slug);
  return [
    `${base}/.well-known/oauth-authorization-server/t/${slug}`,
    `${base}/.well-known/openid-configuration/t/${slug}`,
    `${iss}/.well-known/openid-configuration`,
    `${iss}/.well-known/oauth-authorization-server`,
  ];
}

test('metadata is served as JSON with the same document at all four discovery URLs', async () => {
  const docs = [];
  for (const url of metadataUrls(t.slug)) {
    const res = await get(url);
    docs.push({ url, body: okJson(res, 200) });
  }
  for (const d of docs.slice(1)) {
    assert.deepEqual(d.body, docs[0].body, `metadata at ${d.url} differs from the one at ${docs[0].url}`);
  }
});

test('oauth4webapi discovers the tenant with RFC 8414 path insertion and with OIDC appending, issuer matching', async () => {
  const iss = new URL(t.issuer);
  for (const algorithm of ['oauth2', 'oidc']) {
    const res = await oauth.discoveryRequest(iss, { algorithm, ...insecure });
    const as = await oauth.processDiscoveryResponse(iss, res);
    assert.equal(as.issuer, t.issuer, `issuer via ${algorithm} discovery`);
  }
});

test('issuer is {public_url}/t/{tenant} exactly (no trailing slash)', async () => {
  assert.equal(t.as.issuer, `${baseUrl()}/t/${t.slug}`);
});

test('metadata advertises what the foundation supports (token endpoint, JWKS, client_credentials, secret methods, S256, code, RFC 9207)', async () => {
  const as = t.as;
  for (const key of ['token_endpoint', 'jwks_uri']) {
    assert.equal(typeof as[key], 'string', `metadata has ${key}: ${JSON.stringify(as)}`);
    const u = new URL(as[key]);
    assert.equal(u.origin, new URL(t.issuer).origin, `${key} is served by the issuer's origin`);
  }
  assert.ok(Array.isArray(as.grant_types_supported), 'grant_types_supported is an array');
  assert.ok(as.grant_types_supported.includes('client_credentials'), `grant_types_supported: ${JSON.stringify(as.grant_types_supported)}`);
  assert.ok(Array.isArray(as.token_endpoint_auth_methods_supported), 'token_endpoint_auth_methods_supported is an array');
  for (const m of ['client_secret_basic', 'client_secret_post']) {
    assert.ok(
      as.token_endpoint_auth_methods_supported.includes(m),
      `token_endpoint_auth_methods_supported includes ${m}: ${JSON.stringify(as.token_endpoint_auth_methods_supported)}`,
    );
  }
  assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(as.response_types_supported, ['code']);
  assert.equal(as.authorization_response_iss_parameter_supported, true);
});

test('jwks_uri serves a public JWK Set whose keys carry kid, alg and use, and no private members', async () => {
  const res = await get(t.as.jwks_uri);
  assertStatus(res, 200);
  assert.ok(
    ['application/json', 'application/jwk-set+json'].includes(res.contentType),
    `JWKS Content-Type is application/json or application/jwk-set+json\n  ${res.describe()}`,
  );
  const jwks = res.json;
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.length >= 1, `JWK Set has keys: ${res.text}`);
  for (const k of jwks.keys) {
    assert.equal(typeof k.kid, 'string', `key has kid: ${JSON.stringify(k)}`);
    assert.equal(typeof k.alg, 'string', `key has alg: ${JSON.stringify(k)}`);
    assert.equal(k.use, 'sig', `key has use "sig": ${JSON.stringify(k)}`);
    assert.equal(k.d, undefined, `JWKS must not publish private key material: ${JSON.stringify(k)}`);
    for (const priv of ['p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(k[priv], undefined, `no private member ${priv}`);
  }
  assert.ok(jwks.keys.some((k) => k.alg === 'ES256' && k.kty === 'EC' && k.crv === 'P-256'), 'default key is ES256 (EC P-256)');
  assert.equal(new Set(jwks.keys.map((k) => k.kid)).size, jwks.keys.length, 'kids are unique');
});

test('two tenants have different issuers and different signing keys', async () => {
  const other = await createTenant('disc2');
  assert.notEqual(other.as.issuer, t.as.issuer);
  const a = (await get(t.as.jwks_uri)).json.keys.map((k) => k.kid);
  const b = (await get(other.as.jwks_uri)).json.keys.map((k) => k.kid);
  assert.deepEqual(a.filter((kid) => b.includes(kid)), [], 'no kid is shared between tenants');
});

test('unknown tenant: all four discovery URLs answer 404', async () => {
  const slug = randomSlug('nosuch');
  for (const url of metadataUrls(slug)) {
    const res = await get(url);
    assertStatus(res, 404);
  }
});

test('unknown tenant: oauth4webapi discovery fails instead of returning metadata', async () => {
  const iss = new URL(issuerFor(randomSlug('nosuch')));
  const res = await oauth.discoveryRequest(iss, { algorithm: 'oauth2', ...insecure });
  assert.equal(res.status, 404);
  await assert.rejects(oauth.processDiscoveryResponse(iss, res));
});

test('unknown tenant: the issuer-relative endpoints (JWKS, token) answer 404', async () => {
  const unknown = randomSlug('nosuch');
  const swap = (u) => u.replace(`/t/${t.slug}/`, `/t/${unknown}/`);
  assert.ok(t.as.jwks_uri.includes(`/t/${t.slug}/`), `jwks_uri lies under the issuer path: ${t.as.jwks_uri}`);
  assert.ok(t.as.token_endpoint.includes(`/t/${t.slug}/`), `token_endpoint lies under the issuer path: ${t.as.token_endpoint}`);
  const jwks = await get(swap(t.as.jwks_uri));
  assertStatus(jwks, 404);
  const token = await postForm(swap(t.as.token_endpoint), [['grant_type', 'client_credentials']], {
    basic: [t.clients.basic.client_id, t.clients.basic.client_secret],
  });
  assertStatus(token, 404);
  assert.ok(token.json === undefined || token.json.access_token === undefined, 'no token from an unknown tenant');
});

test('slugs that cannot be tenants (upper case, leading hyphen, 64 chars, dots, SQL) answer 404 at discovery', async () => {
  const base = baseUrl();
  const bad = [
    t.slug.toUpperCase(),
    `-${t.slug}`,
    'a'.repeat(64),
    'a.b',
    encodeURIComponent(`${t.slug}' OR '1'='1`),
    encodeURIComponent(`x"; DROP TABLE tenants; --`),
    '%00',
  ];
  for (const s of bad) {
    const res = await get(`${base}/.well-known/oauth-authorization-server/t/${s}`);
    assert.ok(res.status === 404 || res.status === 400, `slug ${s}: expected 404 (or 400)\n  ${res.describe()}`);
  }
});
