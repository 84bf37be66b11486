// SPEC §9 "Bad input of any kind": every case gets a 4xx with an RFC 6749 /
// RFC 9457 error body, never a 5xx or a dropped connection; the server keeps
// serving (checked through /healthz after each case) and the tenant's
// clients keep working afterwards.

import { test, before, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl } from '../lib/env.mjs';
import { postForm, request, jsonRequest, basicAuthRaw } from '../lib/http.mjs';
import { assertOAuthError, assertProblem, assertHealthy, assertBasicInvalidClient, okJson } from '../lib/checks.mjs';
import { Admin } from '../lib/admin.mjs';
import { createTenant, agentClientBody, randomSlug, RESOURCE } from '../lib/fixture.mjs';
import { checkAccessToken } from '../lib/tokens.mjs';

const SQL = [`' OR 1=1 --`, `"; DROP TABLE clients; --`, `' OR '1'='1`, `\\'; SELECT pg_sleep(5); --`];
const CC = 'grant_type=client_credentials';
const TWO_MIB = 2 * 1024 * 1024;

let t;
let basic;
const admin = new Admin();
before(async () => {
  t = await createTenant('bad');
  basic = t.clients.basic;
});
afterEach(async (ctx) => {
  await assertHealthy(`"${ctx.name}"`);
});
function tokenRaw(body, opts = {}) {
  return postForm(t.tokenEndpoint, body, { basic: [basic.client_id, basic.client_secret], ...opts });
}

// --- form encoding -----------------------------------------------------------

for (const [label, body] of [
  ['%zz in a value', `${CC}&scope=%zz`],
  ['truncated escape %4 at the end', `${CC}&scope=tools%4`],
  ['truncated escape %4 before &', `${CC}&scope=%4&resource=x`],
  ['a lone % at the end', `${CC}&scope=%`],
  ['a lone % in the parameter name', `${CC}&sc%ope=tools:read`],
  ['a % in grant_type', 'grant_type=client_%credentials'],
  ['%G0 (non-hex first digit)', `${CC}&scope=%G0`],
]) {
  test(`malformed form encoding (${label}) at the token endpoint: 400 invalid_request`, async () => {
    const res = await tokenRaw(body);
    assertOAuthError(res, { status: 400, error: 'invalid_request' });
  });
}

for (const [label, field, value, errors] of [
  ['%C3%28 in scope', 'scope', '%C3%28', ['invalid_request', 'invalid_scope']],
  ['%FF in scope', 'scope', '%FF', ['invalid_request', 'invalid_scope']],
  ['%C0%AF (overlong) in resource', 'resource', '%C0%AF', ['invalid_request', 'invalid_target']],
  ['%ED%A0%80 (surrogate) in resource', 'resource', 'https%3A%2F%2Fx.test%2F%ED%A0%80', ['invalid_request', 'invalid_target']],
  ['%FF in grant_type', 'grant_type', 'client_credentials%FF', ['invalid_request', 'unsupported_grant_type']],
  ['%00 (NUL) in scope', 'scope', 'tools:read%00admin', ['invalid_request', 'invalid_scope']],
]) {
  test(`invalid UTF-8 or NUL in a form value (${label}): 400 with an RFC 6749 error`, async () => {
    const body = field === 'grant_type' ? `grant_type=${value}` : `${CC}&${field}=${value}`;
    const res = await tokenRaw(body);
    assertOAuthError(res, { status: 400, error: errors });
  });
}

test('raw invalid UTF-8 bytes (not percent-encoded) in the form body: 400 invalid_request', async () => {
  const body = Buffer.concat([Buffer.from(`${CC}&scope=`), Buffer.from([0xc3, 0x28, 0xff])]);
  const res = await tokenRaw(body);
  assertOAuthError(res, { status: 400, error: ['invalid_request', 'invalid_scope'] });
});

test('invalid UTF-8 in client_secret_post credentials: 400/401 invalid_request or invalid_client', async () => {
  const res = await postForm(t.tokenEndpoint, `${CC}&client_id=${encodeURIComponent(t.clients.post.client_id)}&client_secret=%FF%FE`);
  assertOAuthError(res, { status: [400, 401], error: ['invalid_request', 'invalid_client'] });
});

// --- size and content type ----------------------------------------------------

// Sent ten times: a server that answers 413 and then closes with the rest of
// the body unread makes the kernel reset the connection, and the client often
// loses the answer (it must drain or half-close: a "lingering close").
test('a 2 MiB form body at the token endpoint: 413 with an RFC 6749 error body, received by the client every time', async () => {
  const body = `${CC}&scope=${'a'.repeat(TWO_MIB)}`;
  for (let i = 0; i < 10; i++) {
    const res = await tokenRaw(body);
    assertOAuthError(res, { status: 413, error: 'invalid_request' });
  }
});

test('a 2 MiB JSON body on the admin API: 413 problem+json, received by the client every time', async () => {
  const body = JSON.stringify({ slug: 'x', display_name: 'd'.repeat(TWO_MIB) });
  for (let i = 0; i < 10; i++) {
    const res = await jsonRequest('POST', admin.url('/tenants'), { token: admin.token, body });
    assertProblem(res, 413);
  }
});

test('a Content-Length that claims 2 MiB but sends only a little is answered 413 without waiting for the rest', async () => {
  const res = await request('POST', t.tokenEndpoint, {
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'Content-Length': String(TWO_MIB),
      Authorization: basicAuthRaw(basic.client_id, basic.client_secret),
    },
    body: CC,
    timeoutMs: 10000,
  });
  assertOAuthError(res, { status: 413, error: 'invalid_request' });
});

for (const [label, ct] of [
  ['application/json', 'application/json'],
  ['text/plain', 'text/plain'],
  ['multipart/form-data', 'multipart/form-data; boundary=x'],
  ['no Content-Type', null],
]) {
  test(`token endpoint with ${label} instead of a form: 400 invalid_request`, async () => {
    const body = label === 'application/json' ? JSON.stringify({ grant_type: 'client_credentials' }) : CC;
    const res = await tokenRaw(body, { contentType: ct });
    assertOAuthError(res, { status: 400, error: 'invalid_request' });
  });
}

// --- admin API: JSON ---------------------------------------------------------

for (const [label, body] of [
  ['truncated object', '{"slug":'],
  ['trailing garbage', '{"slug":"abc","display_name":"x"} trailing'],
  ['single quotes', "{'slug':'abc'}"],
  ['empty body', ''],
  ['a JSON array', '[]'],
  ['a JSON string', '"slug"'],
  ['null', 'null'],
  ['slug of the wrong type', '{"slug":42,"display_name":"x"}'],
  ['display_name of the wrong type', `{"slug":"${randomSlug('typed')}","display_name":["x"]}`],
  ['display_name a number', `{"slug":"${randomSlug('typed')}","display_name":42}`],
  ['a duplicated member name', `{"slug":"${randomSlug('dupkey')}","slug":"${randomSlug('dupkey')}","display_name":"x"}`],
  ['a lone surrogate escape', '{"slug":"ab\\ud800","display_name":"x"}'],
  ['a NUL escape in a string', '{"slug":"ab\\u0000c","display_name":"x"}'],
  ['deep nesting (5000 levels, 10 kB)', `${'['.repeat(5000)}${']'.repeat(5000)}`],
  ['deep nesting inside an object', `{"slug":"x","display_name":${'['.repeat(5000)}${']'.repeat(5000)}}`],
]) {
  test(`admin API, broken or ill-typed JSON (${label}): 400 problem+json`, async () => {
    const res = await jsonRequest('POST', admin.url('/tenants'), { token: admin.token, body });
    assertProblem(res, 400);
  });
}

test('admin API, invalid UTF-8 bytes inside a JSON string: 400 problem+json', async () => {
  const body = Buffer.concat([Buffer.from('{"slug":"ab'), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from('","display_name":"x"}')]);
  const res = await jsonRequest('POST', admin.url('/tenants'), { token: admin.token, body });
  assertProblem(res, 400);
});

test('admin API, invalid UTF-8 in a client_name: 400 problem+json and no client created', async () => {
  const json = JSON.stringify(agentClientBody({ client_name: 'XX' }));
  const [a, b] = json.split('XX');
  const body = Buffer.concat([Buffer.from(a), Buffer.from([0xc3, 0x28]), Buffer.from(b)]);
  const res = await jsonRequest('POST', admin.url(`/tenants/${t.slug}/clients`), { token: admin.token, body });
  assertProblem(res, 400);
});

test('admin API, form-encoded body instead of JSON: 400 or 415 problem+json', async () => {
  const res = await jsonRequest('POST', admin.url('/tenants'), {
    token: admin.token,
    body: 'slug=abc&display_name=x',
    contentType: 'application/x-www-form-urlencoded',
  });
  assertProblem(res, [400, 415]);
});

// --- admin API: authentication -----------------------------------------------

for (const [label, headers] of [
  ['no Authorization header', {}],
  ['a wrong bearer token', { Authorization: 'Bearer not-a-real-token' }],
  ['an empty bearer token', { Authorization: 'Bearer ' }],
  ['a garbage JWT', { Authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }],
  ['SQL in the bearer token', { Authorization: `Bearer ${SQL[0]}` }],
  ['Basic instead of Bearer', { Authorization: basicAuthRaw('root', 'root') }],
]) {
  test(`admin API with ${label}: 401 problem+json with a Bearer challenge`, async () => {
    const res = await request('GET', admin.url(`/tenants/${t.slug}`), { headers });
    assertProblem(res, 401);
    assert.match(res.header('www-authenticate') || '', /^\s*bearer/i, `WWW-Authenticate: Bearer (RFC 6750 §3)\n  ${res.describe()}`);
  });
}

test('admin API: creating a tenant without credentials is 401 and creates nothing', async () => {
  const slug = `noauth-${Date.now().toString(36)}`;
  const res = await request('POST', admin.url('/tenants'), {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ slug, display_name: 'x' }),
  });
  assertProblem(res, 401);
  assertProblem(await admin.getTenant(slug), 404);
});

// --- unknown tenant everywhere ----------------------------------------------

test('unknown tenant on every admin route: 404 problem+json', async () => {
  const u = `nosuch-${Date.now().toString(36)}`;
  const cases = [
    () => admin.getTenant(u),
    () => admin.patchTenant(u, { access_token_ttl: 60 }),
    () => admin.createResource(u, { uri: RESOURCE, scopes: ['a'] }),
    () => admin.createClient(u, agentClientBody()),
    () => admin.getClient(u, basic.client_id),
    () => admin.patchClient(u, basic.client_id, { client_name: 'x' }),
    () => admin.deleteClient(u, basic.client_id),
    () => admin.rotateKeys(u),
  ];
  for (const c of cases) assertProblem(await c(), 404);
  // The client named above still belongs to its own tenant and works.
  okJson(await admin.getClient(t.slug, basic.client_id));
});

test('a client of tenant A addressed under tenant B on the admin API: 404', async () => {
  const other = await createTenant('bad2');
  assertProblem(await admin.getClient(other.slug, basic.client_id), 404);
  assertProblem(await admin.deleteClient(other.slug, basic.client_id), 404);
  okJson(await admin.getClient(t.slug, basic.client_id));
});

// --- SQL metacharacters and quotes -------------------------------------------

test('SQL metacharacters as client_id (Basic): 401 invalid_client', async () => {
  for (const s of SQL) {
    const res = await postForm(t.tokenEndpoint, CC, { basic: [s, basic.client_secret] });
    assertBasicInvalidClient(res);
  }
});

test('SQL metacharacters as client_id (post): invalid_client', async () => {
  for (const s of SQL) {
    const res = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials'], ['client_id', s], ['client_secret', 'x']]);
    assertOAuthError(res, { status: [400, 401], error: 'invalid_client' });
  }
});

test('SQL metacharacters as client_secret of a real client: 401 invalid_client', async () => {
  for (const s of SQL) {
    const res = await postForm(t.tokenEndpoint, CC, { basic: [basic.client_id, s] });
    assertBasicInvalidClient(res);
  }
});

test('SQL metacharacters in scope: 400 invalid_scope', async () => {
  for (const s of SQL) {
    const res = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials'], ['scope', s]], {
      basic: [basic.client_id, basic.client_secret],
    });
    // `"` and `\` are not scope-token characters (RFC 6749 §3.3), so invalid_request is fine too.
    assertOAuthError(res, { status: 400, error: ['invalid_scope', 'invalid_request'] });
  }
});

test('SQL metacharacters in resource: 400 invalid_target', async () => {
  for (const s of [...SQL, `${RESOURCE}' OR 1=1 --`]) {
    const res = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials'], ['resource', s]], {
      basic: [basic.client_id, basic.client_secret],
    });
    assertOAuthError(res, { status: 400, error: ['invalid_target', 'invalid_request'] });
  }
});

test('SQL metacharacters as the tenant slug of the issuer and the admin API: 404', async () => {
  for (const s of SQL) {
    const res = await request('GET', `${baseUrl()}/.well-known/oauth-authorization-server/t/${encodeURIComponent(s)}`);
    assert.ok([400, 404].includes(res.status), `expected 404 (or 400)\n  ${res.describe()}`);
    assertProblem(await admin.getTenant(s), [400, 404]);
  }
});

test('SQL metacharacters as a new tenant slug: 400 problem+json, no tenant created', async () => {
  for (const s of SQL) {
    assertProblem(await admin.createTenant({ slug: s, display_name: 'x' }), 400);
  }
});

test('SQL metacharacters and quotes in display_name and client_name are stored verbatim (201) and read back exactly', async () => {
  const name = `${SQL[1]} ${SQL[0]} "quoted" \\ back'slash ✓`;
  const c = okJson(await admin.createClient(t.slug, agentClientBody({ client_name: name })), 201);
  assert.equal(c.client_name, name);
  const got = okJson(await admin.getClient(t.slug, c.client_id));
  assert.equal(got.client_name, name, 'client_name round-trips byte for byte');
  const p = okJson(await admin.patchTenant(t.slug, { display_name: name }));
  assert.equal(p.display_name, name);
  assert.equal(okJson(await admin.getTenant(t.slug)).display_name, name);
});

test('SQL metacharacters in resource uri and scopes on the admin API: 400 problem+json', async () => {
  for (const s of SQL) {
    assertProblem(await admin.createResource(t.slug, { uri: `https://x.example.test/${s}`, scopes: ['a'] }), 400);
    assertProblem(await admin.createResource(t.slug, { uri: 'https://y.example.test/', scopes: [s] }), 400);
  }
});

test('SQL metacharacters as client_id in admin paths: 404 problem+json', async () => {
  for (const s of SQL) {
    assertProblem(await admin.getClient(t.slug, s), 404);
    assertProblem(await admin.deleteClient(t.slug, s), 404);
  }
});

test('SQL metacharacters in client allowed_scopes, allowed_resources and auth method: 400 problem+json', async () => {
  for (const s of SQL) {
    assertProblem(await admin.createClient(t.slug, agentClientBody({ allowed_scopes: [s] })), 400);
    assertProblem(await admin.createClient(t.slug, agentClientBody({ allowed_resources: [s] })), 400);
    assertProblem(await admin.createClient(t.slug, agentClientBody({ token_endpoint_auth_method: s })), 400);
  }
});

test('SQL metacharacters as admin body member names: 400 naming the member, nothing created', async () => {
  for (const s of SQL) {
    const slug = randomSlug('sqlm');
    const res = await admin.createTenant({ slug, [s]: 'x' });
    const p = assertProblem(res, 400);
    assert.ok((p.detail ?? '').includes('unknown member'), `the member is refused as unknown\n  ${res.describe()}`);
    assert.doesNotMatch(p.detail, /violat|constraint|syntax|ERROR/i, res.describe());
    assertProblem(await admin.getTenant(slug), 404);
    assertProblem(await admin.patchClient(t.slug, basic.client_id, { [s]: 'x' }), 400);
  }
});

// Last in this file (tests of a file run in order): nothing above broke or changed the tenant.
test("after all the bad input above, the tenant's clients still get valid tokens", async () => {
  const jwt = await t.accessToken(basic, { resource: RESOURCE, scope: 'tools:read' });
  await checkAccessToken(t, jwt, { client: basic, audience: RESOURCE, scopes: ['tools:read'] });
  const jwt2 = await t.accessToken(t.clients.post, { resource: RESOURCE }, 'post');
  await checkAccessToken(t, jwt2, { client: t.clients.post, audience: RESOURCE });
  const c = okJson(await admin.getClient(t.slug, basic.client_id));
  assert.equal(c.client_id, basic.client_id);
  assert.equal(c.client_name, 'basic agent', 'the client row is unchanged');
});
