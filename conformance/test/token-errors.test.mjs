// RFC 6749 §5.2 error responses of the token endpoint, via raw HTTP.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { postForm, request, basicAuth } from '../lib/http.mjs';
import { assertOAuthError, assertBasicInvalidClient, assertStatus } from '../lib/checks.mjs';
import { createTenant, RESOURCE, OTHER_RESOURCE } from '../lib/fixture.mjs';

let t;
let basic;
let post;
before(async () => {
  t = await createTenant('err');
  basic = t.clients.basic;
  post = t.clients.post;
});

const CC = ['grant_type', 'client_credentials'];
const withBasic = (c) => ({ basic: [c.client_id, c.client_secret] });
const postCreds = (c) => [
  ['client_id', c.client_id],
  ['client_secret', c.client_secret],
];

test('wrong secret with client_secret_basic: 401 invalid_client with WWW-Authenticate: Basic', async () => {
  const res = await postForm(t.tokenEndpoint, [CC], { basic: [basic.client_id, `${basic.client_secret}x`] });
  assertBasicInvalidClient(res);
});

test('wrong secret with client_secret_post: invalid_client (400 or 401)', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ['client_id', post.client_id], ['client_secret', 'not-the-secret']]);
  assertOAuthError(res, { status: [400, 401], error: 'invalid_client' });
});

test('empty secret with client_secret_basic: 401 invalid_client', async () => {
  const res = await postForm(t.tokenEndpoint, [CC], { basic: [basic.client_id, ''] });
  assertBasicInvalidClient(res);
});

test('unknown client_id with client_secret_basic: 401 invalid_client with WWW-Authenticate: Basic', async () => {
  const res = await postForm(t.tokenEndpoint, [CC], { basic: ['no-such-client', basic.client_secret] });
  assertBasicInvalidClient(res);
});

test('unknown client_id with client_secret_post: invalid_client', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ['client_id', 'no-such-client'], ['client_secret', 'whatever']]);
  assertOAuthError(res, { status: [400, 401], error: 'invalid_client' });
});

test("another client's secret does not authenticate a client: invalid_client", async () => {
  const res = await postForm(t.tokenEndpoint, [CC], { basic: [basic.client_id, post.client_secret] });
  assertBasicInvalidClient(res);
});

test('no client authentication at all: invalid_client', async () => {
  const res = await postForm(t.tokenEndpoint, [CC]);
  assertOAuthError(res, { status: [400, 401], error: 'invalid_client' });
});

test('client_id alone in the body (no secret) for a confidential client: invalid_client', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ['client_id', post.client_id]]);
  assertOAuthError(res, { status: [400, 401], error: 'invalid_client' });
});

test('a scope outside the client allowed_scopes: 400 invalid_scope', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ['scope', 'tools:write'], ['resource', RESOURCE]], withBasic(basic));
  assertOAuthError(res, { status: 400, error: 'invalid_scope' });
});

test('a scope the resource has but the client may not hold: 400 invalid_scope', async () => {
  const ro = t.clients.readonly;
  const res = await postForm(t.tokenEndpoint, [CC, ['scope', 'tools:read tools:call'], ['resource', RESOURCE]], withBasic(ro));
  assertOAuthError(res, { status: 400, error: 'invalid_scope' });
});

test('a resource the tenant does not know: 400 invalid_target', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ['resource', 'https://unknown.example.test/']], withBasic(basic));
  assertOAuthError(res, { status: 400, error: 'invalid_target' });
});

test('a registered resource outside the client allowed_resources: 400 invalid_target', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ['resource', OTHER_RESOURCE]], withBasic(basic));
  assertOAuthError(res, { status: 400, error: 'invalid_target' });
});

test('a resource that is not an absolute URI or has a fragment: 400 invalid_target (RFC 8707 §2)', async () => {
  for (const r of ['mcp.example.test', '/relative', `${RESOURCE}#frag`, '']) {
    const res = await postForm(t.tokenEndpoint, [CC, ['resource', r]], withBasic(basic));
    assertOAuthError(res, { status: 400, error: ['invalid_target', 'invalid_request'] });
  }
});

test('an unknown grant_type: 400 unsupported_grant_type', async () => {
  const res = await postForm(t.tokenEndpoint, [['grant_type', 'urn:example:no-such-grant']], withBasic(basic));
  assertOAuthError(res, { status: 400, error: 'unsupported_grant_type' });
});

test('a missing grant_type: 400 invalid_request', async () => {
  const res = await postForm(t.tokenEndpoint, [['scope', 'tools:read']], withBasic(basic));
  assertOAuthError(res, { status: 400, error: 'invalid_request' });
});

test('an empty body: 400 invalid_request', async () => {
  const res = await postForm(t.tokenEndpoint, '', withBasic(basic));
  assertOAuthError(res, { status: 400, error: 'invalid_request' });
});

test('grant_type given twice: 400 invalid_request (RFC 6749 §3.2: parameters MUST NOT be repeated)', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, CC], withBasic(basic));
  assertOAuthError(res, { status: 400, error: 'invalid_request' });
});

test('scope given twice: 400 invalid_request', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ['scope', 'tools:read'], ['scope', 'tools:read']], withBasic(basic));
  assertOAuthError(res, { status: 400, error: 'invalid_request' });
});

test('client_secret given twice with client_secret_post: 400 invalid_request', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ...postCreds(post), ['client_secret', post.client_secret]]);
  assertOAuthError(res, { status: 400, error: 'invalid_request' });
});

test('Basic and post credentials at once: 400 invalid_request (RFC 6749 §2.3: only one method)', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ...postCreds(basic)], withBasic(basic));
  assertOAuthError(res, { status: 400, error: 'invalid_request' });
});

test('a malformed Basic header (not base64, no colon, empty) is refused with 400 invalid_request or 401 invalid_client', async () => {
  const bad = [
    'Basic !!!not-base64!!!',
    `Basic ${Buffer.from('no-colon-here').toString('base64')}`,
    'Basic ',
    'Basic',
    `Basic ${Buffer.from(':').toString('base64')}`,
  ];
  for (const authorization of bad) {
    const res = await postForm(t.tokenEndpoint, [CC], { authorization });
    assertOAuthError(res, { status: [400, 401], error: ['invalid_request', 'invalid_client'] });
  }
});

test('Bearer instead of client credentials: invalid_client', async () => {
  const res = await postForm(t.tokenEndpoint, [CC], { authorization: 'Bearer abc.def.ghi' });
  assertOAuthError(res, { status: [400, 401], error: ['invalid_client', 'invalid_request'] });
});

test('GET on the token endpoint is refused (400 invalid_request or 405), never served', async () => {
  const u = new URL(t.tokenEndpoint);
  u.searchParams.set('grant_type', 'client_credentials');
  const res = await request('GET', u, { headers: { Authorization: basicAuth(basic.client_id, basic.client_secret) } });
  assertStatus(res, [400, 405]);
  assert.equal(res.json?.access_token, undefined, 'no token over GET');
});

test('every token endpoint error above is JSON with error, application/json and no-store (spot check of a mixed request)', async () => {
  const res = await postForm(t.tokenEndpoint, [CC, ['scope', 'tools:read'], ['scope', 'nope']], { basic: [basic.client_id, 'wrong'] });
  // Either the duplicate or the bad secret may be reported first; both are RFC 6749 errors.
  assertOAuthError(res, { status: [400, 401], error: ['invalid_request', 'invalid_client'] });
});
