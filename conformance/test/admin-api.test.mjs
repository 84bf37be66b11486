// SPEC §7: the tenant admin API with the operator root token, happy paths and
// validation, observed through the tokens the server then issues.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { Admin } from '../lib/admin.mjs';
import { get } from '../lib/http.mjs';
import { assertProblem, assertStatus, assertOAuthError, assertBasicInvalidClient, okJson } from '../lib/checks.mjs';
import { agentClientBody, createTenant, discover, randomSlug, RESOURCE } from '../lib/fixture.mjs';
import { issuerFor } from '../lib/env.mjs';
import { checkAccessToken } from '../lib/tokens.mjs';

const admin = new Admin();
let t;
before(async () => {
  t = await createTenant('adm');
});

function noSecretFields(obj, what) {
  for (const k of Object.keys(obj)) {
    // Flags such as approval_webhook_secret_set (boolean) are fine; values are not.
    if (/secret|hash|password/i.test(k) && typeof obj[k] === 'string') {
      assert.fail(`${what} must not expose ${k}: ${JSON.stringify(obj)}`);
    }
  }
}

// --- tenants -----------------------------------------------------------------

test('POST /admin/v1/tenants creates a tenant: 201 with slug, display_name and default settings', async () => {
  const slug = randomSlug('new');
  const res = await admin.createTenant({ slug, display_name: 'New Tenant' });
  const ten = okJson(res, 201);
  assert.equal(ten.slug, slug);
  assert.equal(ten.display_name, 'New Tenant');
  assert.equal(ten.access_token_ttl, 300, 'default access_token_ttl is 300 s (SPEC §6)');
  assert.equal(ten.signing_alg ?? 'ES256', 'ES256');
  noSecretFields(ten, 'tenant');
  // The new tenant is an issuer at once.
  const as = await discover(issuerFor(slug));
  assert.equal(as.issuer, issuerFor(slug));
});

test('GET /admin/v1/tenants/{t} returns the tenant with its settings', async () => {
  const ten = okJson(await admin.getTenant(t.slug));
  assert.equal(ten.slug, t.slug);
  assert.equal(typeof ten.display_name, 'string');
  assert.equal(ten.access_token_ttl, 300);
  for (const k of ['registration_policy', 'max_session_ttl']) {
    assert.ok(k in ten, `tenant settings include ${k}: ${JSON.stringify(ten)}`);
  }
  assert.equal(ten.approval_webhook_secret, undefined, 'approval_webhook_secret is write-only');
});

test('creating a tenant whose slug exists: 409 problem+json', async () => {
  assertProblem(await admin.createTenant({ slug: t.slug, display_name: 'again' }), 409);
});

test('creating a tenant with an invalid slug or display_name: 400 problem+json', async () => {
  for (const body of [
    { slug: 'Upper', display_name: 'x' },
    { slug: '-lead', display_name: 'x' },
    { slug: 'a'.repeat(64), display_name: 'x' },
    { slug: '', display_name: 'x' },
    { slug: 'has space', display_name: 'x' },
    { slug: 'dot.ted', display_name: 'x' },
    { slug: 'ünï', display_name: 'x' },
    { display_name: 'no slug' },
    { slug: randomSlug('noname'), display_name: '' },
    { slug: randomSlug('longname'), display_name: 'x'.repeat(201) },
  ]) {
    assertProblem(await admin.createTenant(body), 400);
  }
});

test('a 63-character slug is valid', async () => {
  const slug = `z${randomSlug('').replace(/-/g, '')}`.padEnd(63, '9');
  assert.equal(slug.length, 63);
  okJson(await admin.createTenant({ slug, display_name: 'long slug' }), 201);
});

test('PATCH access_token_ttl 60: settings read back 60 and new tokens live exactly 60 s', async () => {
  const p = okJson(await admin.patchTenant(t.slug, { access_token_ttl: 60 }));
  assert.equal(p.access_token_ttl, 60);
  assert.equal(okJson(await admin.getTenant(t.slug)).access_token_ttl, 60);
  const r = await t.cc(t.clients.basic, { resource: RESOURCE });
  assert.equal(r.body.expires_in, 60, `expires_in after the change: ${JSON.stringify(r.body)}`);
  await checkAccessToken(t, r.body.access_token, { client: t.clients.basic, audience: RESOURCE, ttl: 60 });
  okJson(await admin.patchTenant(t.slug, { access_token_ttl: 300 }));
  const jwt = await t.accessToken(t.clients.basic, { resource: RESOURCE });
  await checkAccessToken(t, jwt, { client: t.clients.basic, audience: RESOURCE, ttl: 300 });
});

test('PATCH access_token_ttl at the bounds 5 and 86400 is accepted', async () => {
  assert.equal(okJson(await admin.patchTenant(t.slug, { access_token_ttl: 5 })).access_token_ttl, 5);
  assert.equal(okJson(await admin.patchTenant(t.slug, { access_token_ttl: 86400 })).access_token_ttl, 86400);
  okJson(await admin.patchTenant(t.slug, { access_token_ttl: 300 }));
});

test('PATCH access_token_ttl out of range (4, 86401, 0, -1, 1.5, "60", null): 400 problem+json and the setting is unchanged', async () => {
  for (const v of [4, 86401, 0, -1, 1.5, '60', null, 1e20]) {
    assertProblem(await admin.patchTenant(t.slug, { access_token_ttl: v }), 400);
  }
  assert.equal(okJson(await admin.getTenant(t.slug)).access_token_ttl, 300);
});

test('PATCH with an unknown or read-only setting (slug) is refused with 400 and changes nothing', async () => {
  assertProblem(await admin.patchTenant(t.slug, { slug: randomSlug('renamed') }), 400);
  assertProblem(await admin.patchTenant(t.slug, { no_such_setting: 1 }), 400);
  assert.equal(okJson(await admin.getTenant(t.slug)).slug, t.slug);
});

// --- resources ---------------------------------------------------------------

test('POST resources creates a resource (201) that clients can then name as resource', async () => {
  const uri = 'https://new-mcp.example.test/mcp';
  const r = okJson(await admin.createResource(t.slug, { uri, scopes: ['new:read'] }), 201);
  assert.equal(r.uri, uri);
  assert.deepEqual(r.scopes, ['new:read']);
  const c = okJson(
    await admin.createClient(t.slug, agentClientBody({ allowed_scopes: ['new:read'], allowed_resources: [uri] })),
    201,
  );
  const jwt = await t.accessToken(c, { resource: uri, scope: 'new:read' });
  await checkAccessToken(t, jwt, { client: c, audience: uri, scopes: ['new:read'] });
});

test('POST resources with an invalid uri or scopes: 400 problem+json', async () => {
  for (const body of [
    { uri: 'not a uri', scopes: ['a'] },
    { uri: '/relative', scopes: ['a'] },
    { uri: 'https://frag.example.test/#x', scopes: ['a'] },
    { scopes: ['a'] },
    { uri: 'https://ok.example.test/', scopes: 'a b' },
    { uri: 'https://ok.example.test/', scopes: ['has space'] },
    { uri: 'https://ok.example.test/', scopes: [42] },
  ]) {
    assertProblem(await admin.createResource(t.slug, body), 400);
  }
});

test('POST the same resource uri twice: 409 problem+json', async () => {
  assertProblem(await admin.createResource(t.slug, { uri: RESOURCE, scopes: ['tools:read'] }), 409);
});

// --- clients -----------------------------------------------------------------

test('POST clients: 201 with client_id, the client_secret (once) and the registered metadata', async () => {
  const body = agentClientBody({ client_name: 'created' });
  const c = okJson(await admin.createClient(t.slug, body), 201);
  assert.equal(typeof c.client_id, 'string');
  assert.ok(c.client_id.length >= 8, 'client_id is not trivially short');
  assert.equal(typeof c.client_secret, 'string');
  assert.ok(c.client_secret.length >= 32, 'client_secret carries at least ~190 bits (≥ 32 chars)');
  assert.equal(c.client_name, 'created');
  assert.equal(c.token_endpoint_auth_method, 'client_secret_basic');
  assert.deepEqual(c.grant_types, ['client_credentials']);
  assert.deepEqual([...c.allowed_scopes].sort(), [...body.allowed_scopes].sort());
  assert.deepEqual(c.allowed_resources, body.allowed_resources);
});

test('GET a client never returns its secret (nor a hash of it)', async () => {
  const c = okJson(await admin.getClient(t.slug, t.clients.basic.client_id));
  assert.equal(c.client_id, t.clients.basic.client_id);
  assert.equal(c.client_name, 'basic agent');
  assert.equal(c.client_secret, undefined);
  noSecretFields(c, 'GET client');
  assert.ok(!JSON.stringify(c).includes(t.clients.basic.client_secret), 'the secret appears nowhere in the GET answer');
});

test('two clients get different ids and secrets', async () => {
  const x = okJson(await admin.createClient(t.slug, agentClientBody()), 201);
  const y = okJson(await admin.createClient(t.slug, agentClientBody()), 201);
  assert.notEqual(x.client_id, y.client_id);
  assert.notEqual(x.client_secret, y.client_secret);
});

test('POST clients with invalid metadata: 400 problem+json', async () => {
  for (const over of [
    { token_endpoint_auth_method: 'no_such_method' },
    { grant_types: 'client_credentials' },
    { grant_types: ['no_such_grant'] },
    { allowed_scopes: 'tools:read' },
    { allowed_scopes: ['bad scope'] },
    { allowed_resources: ['not a uri'] },
    { client_name: 42 },
  ]) {
    assertProblem(await admin.createClient(t.slug, agentClientBody(over)), 400);
  }
});

test('PATCH a client: narrowing allowed_scopes takes effect on the next token request', async () => {
  const c = okJson(await admin.createClient(t.slug, agentClientBody({ client_name: 'to patch' })), 201);
  assert.equal((await t.ccRaw(c, [['scope', 'tools:call'], ['resource', RESOURCE]])).status, 200);
  const p = okJson(await admin.patchClient(t.slug, c.client_id, { allowed_scopes: ['tools:read'], client_name: 'patched' }));
  assert.deepEqual(p.allowed_scopes, ['tools:read']);
  assert.equal(p.client_name, 'patched');
  assert.equal(p.client_secret, undefined, 'PATCH does not return the secret');
  const got = okJson(await admin.getClient(t.slug, c.client_id));
  assert.deepEqual(got.allowed_scopes, ['tools:read']);
  assert.equal(got.client_name, 'patched');
  const denied = await t.ccRaw(c, [['scope', 'tools:call'], ['resource', RESOURCE]]);
  assertOAuthError(denied, { status: 400, error: 'invalid_scope' });
  const ok = await t.ccRaw(c, [['scope', 'tools:read'], ['resource', RESOURCE]]);
  assertStatus(ok, 200);
  // The secret is unchanged by a PATCH.
  await checkAccessToken(t, ok.json.access_token, { client: c, audience: RESOURCE, scopes: ['tools:read'] });
});

test('PATCH a client with invalid values: 400 problem+json and the client is unchanged', async () => {
  const c = okJson(await admin.createClient(t.slug, agentClientBody({ client_name: 'stable' })), 201);
  assertProblem(await admin.patchClient(t.slug, c.client_id, { token_endpoint_auth_method: 'bogus' }), 400);
  assertProblem(await admin.patchClient(t.slug, c.client_id, { allowed_scopes: 'tools:read' }), 400);
  assertProblem(await admin.patchClient(t.slug, c.client_id, { client_id: 'new-id' }), 400);
  const got = okJson(await admin.getClient(t.slug, c.client_id));
  assert.equal(got.client_name, 'stable');
  assert.equal(got.token_endpoint_auth_method, 'client_secret_basic');
});

test('DELETE a client: 204/200, then GET is 404 and its credentials get invalid_client', async () => {
  const c = okJson(await admin.createClient(t.slug, agentClientBody({ client_name: 'doomed' })), 201);
  assert.equal((await t.ccRaw(c)).status, 200);
  const del = await admin.deleteClient(t.slug, c.client_id);
  assertStatus(del, [200, 204]);
  assertProblem(await admin.getClient(t.slug, c.client_id), 404);
  assertProblem(await admin.deleteClient(t.slug, c.client_id), 404);
  assertBasicInvalidClient(await t.ccRaw(c));
});

test('GET, PATCH, DELETE of an unknown client: 404 problem+json', async () => {
  assertProblem(await admin.getClient(t.slug, 'no-such-client'), 404);
  assertProblem(await admin.patchClient(t.slug, 'no-such-client', { client_name: 'x' }), 404);
  assertProblem(await admin.deleteClient(t.slug, 'no-such-client'), 404);
});

// --- bodies (SPEC §9: unknown members refused by name on every call) ----------

const enc = encodeURIComponent;

/** A 400 problem whose detail names `member` (quoted, as the server echoes it). */
function refusedNaming(res, member, status = 400) {
  const p = assertProblem(res, status);
  assert.ok((p.detail ?? '').includes(member), `the detail names ${member}\n  ${res.describe()}`);
  return p;
}

test('users POST with the "scope" typo is 400 naming it (did you mean "scopes") and creates nobody', async () => {
  const username = `typo-${randomSlug('u')}`;
  const res = await admin.call('POST', `/tenants/${t.slug}/users`, { username, password: 'typo-password', scope: 'tools:read' });
  const p = refusedNaming(res, '"scope"');
  assert.match(p.detail, /did you mean "scopes"/, res.describe());
  assertProblem(await admin.call('GET', `/tenants/${t.slug}/users/${enc(username)}`), 404);
});

test('an unknown member is refused with 400 naming it on every call with a body, and nothing changes', async () => {
  const slug = randomSlug('unk');
  refusedNaming(await admin.createTenant({ slug, display_name: 'x', colour: 'red' }), '"colour"');
  assertProblem(await admin.getTenant(slug), 404);

  const before = okJson(await admin.getTenant(t.slug));
  refusedNaming(await admin.patchTenant(t.slug, { registration_policy: 'open', colour: 'red' }), '"colour"');
  refusedNaming(await admin.patchTenant(t.slug, { acces_token_ttl: 60 }), 'did you mean "access_token_ttl"');
  assert.deepEqual(okJson(await admin.getTenant(t.slug)), before, 'the tenant is unchanged');

  const uri = 'https://unknown-member.example.test/mcp';
  refusedNaming(await admin.createResource(t.slug, { uri, scope: 'a' }), 'did you mean "scopes"');
  const resources = okJson(await admin.call('GET', `/tenants/${t.slug}/resources`)).resources;
  assert.ok(!resources.some((r) => r.uri === uri), 'no resource was created');

  refusedNaming(await admin.createClient(t.slug, agentClientBody({ scope: 'tools:read' })), 'did you mean "allowed_scopes"');
  const c = okJson(await admin.createClient(t.slug, agentClientBody({ client_name: 'unknown member target' })), 201);
  refusedNaming(await admin.patchClient(t.slug, c.client_id, { client_name: 'renamed', colour: 'red' }), '"colour"');
  refusedNaming(await admin.patchClient(t.slug, c.client_id, { client_id_issued_at: 0 }), 'client_id_issued_at');
  assert.equal(okJson(await admin.getClient(t.slug, c.client_id)).client_name, 'unknown member target');
});

test('wrong types and missing members are 400 naming the member', async () => {
  refusedNaming(await admin.createTenant({ slug: 42 }), 'slug');
  refusedNaming(await admin.createTenant({ display_name: 'no slug' }), 'slug');
  refusedNaming(await admin.patchTenant(t.slug, { max_session_ttl: '3600' }), 'max_session_ttl');
  refusedNaming(await admin.createResource(t.slug, { uri: ['https://x.example.test/'] }), 'uri');
  refusedNaming(await admin.createClient(t.slug, agentClientBody({ may_impersonate: 'no' })), 'may_impersonate');
  refusedNaming(await admin.call('POST', `/tenants/${t.slug}/users`, { username: 'nopassword' }), 'password');
  refusedNaming(await admin.call('POST', `/tenants/${t.slug}/users`, { username: 'n', password: 12345678 }), 'password');
});

test('database constraints never reach the client: a rename onto a taken username is 409 naming username', async () => {
  const a = `a-${randomSlug('u')}`;
  const b = `b-${randomSlug('u')}`;
  for (const username of [a, b]) {
    okJson(await admin.call('POST', `/tenants/${t.slug}/users`, { username, password: 'rename-password' }), 201);
  }
  const res = await admin.call('PATCH', `/tenants/${t.slug}/users/${enc(a)}`, { username: b });
  const p = refusedNaming(res, 'username', 409);
  assert.doesNotMatch(JSON.stringify(p), /violat|constraint|duplicate key|ERROR/i, res.describe());
  assert.equal(okJson(await admin.call('GET', `/tenants/${t.slug}/users/${enc(a)}`)).username, a);
});

test('a call that takes no body refuses one (400 naming its member) and accepts {}', async () => {
  const c = okJson(await admin.createClient(t.slug, agentClientBody({ client_name: 'no body target' })), 201);
  const path = `/tenants/${t.slug}/clients/${enc(c.client_id)}`;
  refusedNaming(await admin.call('DELETE', path, { force: true }), '"force"');
  okJson(await admin.getClient(t.slug, c.client_id));
  refusedNaming(await admin.call('GET', path, { expand: 'secret' }), '"expand"');
  assertProblem(await admin.call('POST', `/tenants/${t.slug}/keys/rotate`, 'now'), 400);
  refusedNaming(await admin.call('POST', `/tenants/${t.slug}/keys/rotate`, { alg: 'RS256' }), '"alg"');
  assertStatus(await admin.call('POST', `/tenants/${t.slug}/keys/rotate`, {}), [200, 201]);
  assertStatus(await admin.call('DELETE', path, {}), [200, 204]);
});

// --- keys --------------------------------------------------------------------

test('keys/rotate: new tokens carry the new kid, JWKS lists old and new, and a token signed before rotation still verifies', async () => {
  const k = await createTenant('rot');
  const client = k.clients.basic;
  const before = await k.accessToken(client, { resource: RESOURCE });
  const oldKid = jose.decodeProtectedHeader(before).kid;
  await checkAccessToken(k, before, { client, audience: RESOURCE });

  const rot = await admin.rotateKeys(k.slug);
  assertStatus(rot, [200, 201]);

  const after = await k.accessToken(client, { resource: RESOURCE });
  const newKid = jose.decodeProtectedHeader(after).kid;
  assert.notEqual(newKid, oldKid, 'tokens after rotation are signed with a new key');

  const kids = (await get(k.as.jwks_uri)).json.keys.map((x) => x.kid);
  assert.ok(kids.includes(oldKid), `JWKS still publishes the previous kid ${oldKid}: ${kids}`);
  assert.ok(kids.includes(newKid), `JWKS publishes the new kid ${newKid}: ${kids}`);

  await checkAccessToken(k, before, { client, audience: RESOURCE });
  await checkAccessToken(k, after, { client, audience: RESOURCE });
});

test('keys/rotate twice: the two previous keys whose tokens may be alive stay published', async () => {
  const k = await createTenant('rot2');
  const client = k.clients.basic;
  const t1 = await k.accessToken(client);
  assertStatus(await admin.rotateKeys(k.slug), [200, 201]);
  const t2 = await k.accessToken(client);
  assertStatus(await admin.rotateKeys(k.slug), [200, 201]);
  const t3 = await k.accessToken(client);
  const kidsOf = [t1, t2, t3].map((x) => jose.decodeProtectedHeader(x).kid);
  assert.equal(new Set(kidsOf).size, 3, 'three distinct signing keys');
  for (const x of [t1, t2, t3]) await checkAccessToken(k, x, { client });
});

test('the tenant admin API answers JSON (application/json) on success', async () => {
  const res = await admin.getTenant(t.slug);
  assertStatus(res, 200);
  assert.equal(res.contentType, 'application/json', res.describe());
});
