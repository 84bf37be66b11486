// SPEC §4.3, §6; RFC 6749 §4.4, RFC 8707, RFC 9068: client_credentials through
// a real OAuth client library (oauth4webapi), tokens verified with jose.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { postForm, basicAuthRaw } from '../lib/http.mjs';
import { assertNoStore, assertStatus, scopeSet } from '../lib/checks.mjs';
import { createTenant, RESOURCE, RESOURCE_SCOPES } from '../lib/fixture.mjs';
import { checkAccessToken } from '../lib/tokens.mjs';

const CEILING = [...RESOURCE_SCOPES, 'admin'];
let t;
before(async () => {
  t = await createTenant('cc');
});

function checkTokenResponse(r, ttl = 300) {
  assert.equal(r.status, 200);
  assert.equal(r.body.token_type.toLowerCase(), 'bearer', `token_type Bearer: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.expires_in, ttl, `expires_in: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.refresh_token, undefined, 'client_credentials issues no refresh token (RFC 6749 §4.4.3)');
  assert.equal(r.body.id_token, undefined, 'authz is not an OpenID Provider: no id_token');
  const cc = (r.headers.get('cache-control') || '').toLowerCase();
  assert.match(cc, /(^|[\s,])no-store($|[\s,])/, `Cache-Control: no-store on the token response, got ${cc}`);
  assert.match(r.headers.get('content-type') || '', /^application\/json\s*(;|$)/i, 'token response is application/json');
}

test('client_secret_basic with resource: oauth4webapi gets a Bearer token that jose verifies as RFC 9068 with aud = resource', async () => {
  const client = t.clients.basic;
  const r = await t.cc(client, { resource: RESOURCE, scope: 'tools:read tools:call' }, 'basic');
  checkTokenResponse(r);
  await checkAccessToken(t, r.body.access_token, {
    client,
    audience: RESOURCE,
    allowedScopes: CEILING,
    scopes: ['tools:read', 'tools:call'],
  });
});

test('client_secret_post with resource: oauth4webapi gets a Bearer token that jose verifies as RFC 9068 with aud = resource', async () => {
  const client = t.clients.post;
  const r = await t.cc(client, { resource: RESOURCE, scope: 'tools:read' }, 'post');
  checkTokenResponse(r);
  await checkAccessToken(t, r.body.access_token, { client, audience: RESOURCE, allowedScopes: CEILING, scopes: ['tools:read'] });
});

test('without resource the token is for authz itself: aud is the tenant issuer', async () => {
  const client = t.clients.basic;
  const r = await t.cc(client, { scope: 'admin' });
  checkTokenResponse(r);
  await checkAccessToken(t, r.body.access_token, { client, audience: t.issuer, allowedScopes: CEILING, scopes: ['admin'] });
});

test('without scope the token still carries only scopes within the client ceiling', async () => {
  const client = t.clients.readonly;
  const r = await t.cc(client, { resource: RESOURCE });
  checkTokenResponse(r);
  const { payload } = await checkAccessToken(t, r.body.access_token, { client, audience: RESOURCE, allowedScopes: ['tools:read'] });
  if (r.body.scope !== undefined) {
    assert.deepEqual([...scopeSet(r.body.scope)].sort(), [...scopeSet(payload.scope)].sort(), 'response scope matches the token');
  }
});

test('a requested subset of the allowed scopes is granted exactly, and the response scope matches the token', async () => {
  const client = t.clients.basic;
  const r = await t.cc(client, { resource: RESOURCE, scope: 'tools:call' });
  const { payload } = await checkAccessToken(t, r.body.access_token, { client, audience: RESOURCE, scopes: ['tools:call'] });
  if (r.body.scope !== undefined) assert.equal(r.body.scope, payload.scope);
});

test('scope "openid" is accepted and ignored (authz is not an OpenID Provider)', async () => {
  const client = t.clients.basic;
  const r = await t.cc(client, { resource: RESOURCE, scope: 'openid tools:read' });
  checkTokenResponse(r);
  await checkAccessToken(t, r.body.access_token, { client, audience: RESOURCE, scopes: ['tools:read'] });
});

test('each token has its own jti', async () => {
  const client = t.clients.basic;
  const a = jose.decodeJwt(await t.accessToken(client, { resource: RESOURCE }));
  const b = jose.decodeJwt(await t.accessToken(client, { resource: RESOURCE }));
  assert.notEqual(a.jti, b.jti);
});

test('Basic credentials sent without form-encoding (plain id:secret) are accepted when they need no encoding', async () => {
  const client = t.clients.basic;
  // Server-generated ids and secrets should be URL-safe, so both encodings coincide.
  assert.match(client.client_id, /^[A-Za-z0-9._~-]+$/, `client_id is URL-safe: ${client.client_id}`);
  assert.match(client.client_secret, /^[A-Za-z0-9._~-]+$/, 'client_secret is URL-safe');
  const res = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials'], ['resource', RESOURCE]], {
    authorization: basicAuthRaw(client.client_id, client.client_secret),
  });
  assertStatus(res, 200);
  assertNoStore(res);
  await checkAccessToken(t, res.json.access_token, { client, audience: RESOURCE, allowedScopes: CEILING });
});

test('the "Basic" scheme name is matched case-insensitively (RFC 7235 §2.1)', async () => {
  const client = t.clients.basic;
  const auth = basicAuthRaw(client.client_id, client.client_secret).replace(/^Basic/, 'basic');
  const res = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials']], { authorization: auth });
  assertStatus(res, 200);
});

test('Content-Type application/x-www-form-urlencoded with a charset parameter is accepted', async () => {
  const client = t.clients.basic;
  const res = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials'], ['resource', RESOURCE]], {
    basic: [client.client_id, client.client_secret],
    contentType: 'application/x-www-form-urlencoded; charset=UTF-8',
  });
  assertStatus(res, 200);
});

test('a token of one tenant does not verify against another tenant (different keys and issuer)', async () => {
  const other = await createTenant('cc2');
  const jwt = await t.accessToken(t.clients.basic, { resource: RESOURCE });
  await assert.rejects(
    jose.jwtVerify(jwt, other.jwks(), { issuer: other.issuer, audience: RESOURCE, typ: 'at+jwt', algorithms: ['ES256'] }),
    'a token of tenant A must not verify with tenant B JWKS/issuer',
  );
});

test("one tenant's client credentials are unknown at another tenant's token endpoint (invalid_client)", async () => {
  const other = await createTenant('cc3');
  const res = await postForm(other.tokenEndpoint, [['grant_type', 'client_credentials']], {
    basic: [t.clients.basic.client_id, t.clients.basic.client_secret],
  });
  assertStatus(res, 401);
  assert.equal(res.json?.error, 'invalid_client', res.describe());
});
