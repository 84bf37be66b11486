// SPEC §1, §6, §7: tenant admin tokens reach their own tenant only, and
// nothing crosses tenants.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../lib/admin.mjs';
import { assertProblem, okJson, assertOAuthError } from '../lib/checks.mjs';
import { postForm } from '../lib/http.mjs';
import { createTenant, agentClientBody, randomSlug, RESOURCE } from '../lib/fixture.mjs';

let a;
let b;
let adminA; // Admin API client holding tenant A's admin access token
before(async () => {
  a = await createTenant('isoa');
  b = await createTenant('isob');
  const token = await a.accessToken(a.clients.basic, { scope: 'admin' }); // no resource: aud = issuer of A
  adminA = new Admin(token);
});

test("a tenant-admin token (client_credentials, scope admin, aud = A's issuer) reads tenant A", async () => {
  const ten = okJson(await adminA.getTenant(a.slug));
  assert.equal(ten.slug, a.slug);
});

test('a tenant-admin token manages resources and clients of its own tenant', async () => {
  okJson(await adminA.createResource(a.slug, { uri: 'https://admin-made.example.test/', scopes: ['x:read'] }), 201);
  const c = okJson(await adminA.createClient(a.slug, agentClientBody({ client_name: 'made by tenant admin' })), 201);
  assert.equal(typeof c.client_secret, 'string');
  okJson(await adminA.getClient(a.slug, c.client_id));
  okJson(await adminA.patchTenant(a.slug, { access_token_ttl: 300 }));
});

test("tenant A's admin token gets 404 for every route of tenant B", async () => {
  const cases = [
    () => adminA.getTenant(b.slug),
    () => adminA.patchTenant(b.slug, { access_token_ttl: 60 }),
    () => adminA.createResource(b.slug, { uri: 'https://evil.example.test/', scopes: ['x'] }),
    () => adminA.createClient(b.slug, agentClientBody()),
    () => adminA.getClient(b.slug, b.clients.basic.client_id),
    () => adminA.patchClient(b.slug, b.clients.basic.client_id, { client_name: 'hijacked' }),
    () => adminA.deleteClient(b.slug, b.clients.basic.client_id),
    () => adminA.rotateKeys(b.slug),
  ];
  for (const c of cases) assertProblem(await c(), 404);
  // B is untouched.
  const root = new Admin();
  const bc = okJson(await root.getClient(b.slug, b.clients.basic.client_id));
  assert.equal(bc.client_name, 'basic agent');
  assert.equal(okJson(await root.getTenant(b.slug)).access_token_ttl, 300);
});

test("tenant A's admin token gets 404 for root-only POST /admin/v1/tenants and creates nothing", async () => {
  const slug = randomSlug('byadmin');
  assertProblem(await adminA.createTenant({ slug, display_name: 'x' }), 404);
  assertProblem(await new Admin().getTenant(slug), 404);
});

test("tenant A's admin token gets 404 for a tenant that does not exist (no existence oracle)", async () => {
  assertProblem(await adminA.getTenant(randomSlug('nosuch')), 404);
});

test('a token of tenant A without scope admin does not reach the admin API', async () => {
  const token = await a.accessToken(a.clients.basic, { scope: 'tools:read' });
  const res = await new Admin(token).getTenant(a.slug);
  assertProblem(res, [401, 403, 404]);
});

test('a token with scope admin but aud = a resource (not the issuer) does not reach the admin API', async () => {
  const res = await a.ccRaw(a.clients.basic, [
    ['scope', 'admin'],
    ['resource', RESOURCE],
  ]);
  if (res.status === 200) {
    const r = await new Admin(res.json.access_token).getTenant(a.slug);
    assertProblem(r, [401, 403, 404]);
  } else {
    assertOAuthError(res, { status: 400, error: ['invalid_scope', 'invalid_target'] });
  }
});

test("tenant B's admin token reaches B and gets 404 for tenant A", async () => {
  const tokenB = await b.accessToken(b.clients.basic, { scope: 'admin' });
  assertProblem(await new Admin(tokenB).getTenant(a.slug), 404);
  okJson(await new Admin(tokenB).getTenant(b.slug));
});

test('a tampered tenant-admin token (signature changed) is refused with 401', async () => {
  const token = await a.accessToken(a.clients.basic, { scope: 'admin' });
  const [h, p, s] = token.split('.');
  const flipped = `${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`;
  assertProblem(await new Admin(`${h}.${p}.${flipped}`).getTenant(a.slug), 401);
});

test("tenant A's client credentials are invalid_client at tenant B's token endpoint", async () => {
  const res = await postForm(b.tokenEndpoint, [['grant_type', 'client_credentials']], {
    basic: [a.clients.basic.client_id, a.clients.basic.client_secret],
  });
  assertOAuthError(res, { status: 401, error: 'invalid_client' });
});
