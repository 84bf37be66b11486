// Agent lifecycle (SPEC §13) from the attacker's side: another tenant's ids
// and people, bad bodies (problem+json, nothing changed), and disabled
// agents, people and secrets replayed. The cascade on a second authzd and
// the leak kinds are tests/integration/t_lifecycle.sh's.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createTenant, RESOURCE } from '../lib/fixture.mjs';
import { assertOAuthError, assertProblem, okJson } from '../lib/checks.mjs';
import { createUser, createCodeClient, personTokens, refreshRaw, introspect, auditEvents } from '../lib/codeflow.mjs';
import { createAgent, createResourceServer } from '../lib/exchange.mjs';
import { baseUrl, rootToken } from '../lib/env.mjs';
import { jsonRequest } from '../lib/http.mjs';

const enc = encodeURIComponent;
let t; // the tenant under test
let other; // another tenant
let rs; // introspects RESOURCE in t
let adminToken; // a tenant admin token of t

before(async () => {
  t = await createTenant('lc');
  other = await createTenant('lc-other');
  rs = await createResourceServer(t, [RESOURCE]);
  adminToken = await t.accessToken(await createAgent(t, { client_name: 'lc admin', allowed_scopes: ['admin'] }), {
    scope: 'admin',
  });
});

const call = (method, path, body, token = adminToken) =>
  jsonRequest(method, `${baseUrl()}/admin/v1${path}`, { token, body });
const clientPath = (tenant, id) => `/tenants/${enc(tenant.slug)}/clients/${enc(id)}`;
const active = async (token) => (await introspect(t, rs, token)).active;

test('owner: only a person of this tenant; another tenant’s person or a made-up sub is 400 and changes nothing', async () => {
  const agent = await createAgent(t, { client_name: 'owned agent' });
  const mine = await createUser(t);
  const theirs = await createUser(other);
  const okRes = okJson(await call('PATCH', clientPath(t, agent.client_id), { owner: mine.id }));
  assert.equal(okRes.owner, mine.id);
  for (const owner of [theirs.id, '00000000-0000-4000-8000-000000000000', 'alice', 42, mine.username]) {
    assertProblem(await call('PATCH', clientPath(t, agent.client_id), { owner }), 400);
  }
  const now = okJson(await call('GET', clientPath(t, agent.client_id)));
  assert.equal(now.owner, mine.id, 'nothing changed');
  assert.equal(now.status, 'active');
});

test('another tenant’s agent is 404 for a tenant admin: status, secrets, delete; nothing changes', async () => {
  const theirs = await createAgent(other, { client_name: 'their agent' });
  const token = await other.accessToken(theirs, { scope: 'tools:read', resource: RESOURCE });
  assertProblem(await call('PATCH', clientPath(other, theirs.client_id), { status: 'disabled' }), 404);
  assertProblem(await call('PATCH', clientPath(t, theirs.client_id), { status: 'disabled' }), 404);
  assertProblem(await call('POST', `${clientPath(t, theirs.client_id)}/secrets`, {}), 404);
  assertProblem(await call('GET', `${clientPath(t, theirs.client_id)}/secrets`), 404);
  assertProblem(await call('GET', `${clientPath(other, theirs.client_id)}/secrets`), 404);
  const still = okJson(await call('GET', clientPath(other, theirs.client_id), undefined, rootToken()));
  assert.equal(still.status, 'active');
  await other.cc(theirs); // still authenticates
  assert.ok(token);
});

test('bad bodies are problem+json and change nothing', async () => {
  const agent = await createAgent(t, { client_name: 'bad bodies' });
  const user = await createUser(t);
  for (const body of [{ status: 'paused' }, { status: true }, { status: null }, { owner: {} }, { status: 'DISABLED' }]) {
    assertProblem(await call('PATCH', clientPath(t, agent.client_id), body), 400);
  }
  for (const body of [{ status: 'gone' }, { status: 1 }]) {
    assertProblem(await call('PATCH', `/tenants/${enc(t.slug)}/users/${enc(user.username)}`, body), 400);
  }
  for (const body of [{ previous_expires_in: -1 }, { previous_expires_in: 2592001 }, { previous_expires_in: '5' },
    { previous_expires_in: 1.5 }, { overlap: 5 }, [1]]) {
    assertProblem(await call('POST', `${clientPath(t, agent.client_id)}/secrets`, body), 400);
  }
  const list = okJson(await call('GET', `${clientPath(t, agent.client_id)}/secrets`));
  assert.equal(list.secrets.length, 1, 'no secret was added');
  assert.equal(okJson(await call('GET', clientPath(t, agent.client_id))).status, 'active');
  await t.cc(agent);
});

test('a disabled agent: invalid_client, its tokens inactive, re-enabling revives none of them', async () => {
  const agent = await createAgent(t, { client_name: 'to disable' });
  const token = await t.accessToken(agent, { scope: 'tools:read', resource: RESOURCE });
  assert.equal(await active(token), true);
  okJson(await call('PATCH', clientPath(t, agent.client_id), { status: 'disabled' }));
  assert.equal(await active(token), false, 'its token is inactive at once');
  const res = await t.ccRaw(agent);
  assertOAuthError(res, { status: 401, error: 'invalid_client' });
  okJson(await call('PATCH', clientPath(t, agent.client_id), { status: 'active' }));
  assert.equal(await active(token), false, 'enabling again does not revive the old token');
  const fresh = await t.accessToken(agent, { scope: 'tools:read', resource: RESOURCE });
  assert.equal(await active(fresh), true, 'a new token works');
  const rows = await auditEvents(t, { event: 'client.disabled', client: agent.client_id });
  assert.equal(rows[0]?.details?.reason, 'disabled');
});

test('a disabled person: no sign-in, the refresh token of the code flow is dead, the access token inactive', async () => {
  const web = await createCodeClient(t, { client_name: 'web for offboarding' });
  const person = await createUser(t);
  const { tokens } = await personTokens(t, web, person, { scope: 'tools:read', resource: RESOURCE });
  assert.equal(await active(tokens.access_token), true);
  okJson(await call('PATCH', `/tenants/${enc(t.slug)}/users/${enc(person.username)}`, { status: 'disabled' }));
  assert.equal(await active(tokens.access_token), false);
  assertOAuthError(await refreshRaw(t, web, tokens.refresh_token), { status: 400, error: 'invalid_grant' });
  await assert.rejects(personTokens(t, web, person, { scope: 'tools:read', resource: RESOURCE }),
    'a disabled person cannot sign in');
  okJson(await call('PATCH', `/tenants/${enc(t.slug)}/users/${enc(person.username)}`, { status: 'active' }));
  assertOAuthError(await refreshRaw(t, web, tokens.refresh_token), { status: 400, error: 'invalid_grant' });
});

test('a rotated-out or deleted secret is refused; the overlap is honoured', async () => {
  const agent = await createAgent(t, { client_name: 'rotating' });
  const path = `${clientPath(t, agent.client_id)}/secrets`;
  const r1 = okJson(await call('POST', path, { previous_expires_in: 600 }), 201);
  await t.cc(agent); // the old one, in the overlap
  await t.cc({ ...agent, client_secret: r1.client_secret });
  const r2 = okJson(await call('POST', path, {}), 201); // previous ones end now
  assertOAuthError(await t.ccRaw(agent), { status: 401, error: 'invalid_client' });
  assertOAuthError(await t.ccRaw({ ...agent, client_secret: r1.client_secret }), { status: 401, error: 'invalid_client' });
  await t.cc({ ...agent, client_secret: r2.client_secret });
  assert.equal((await call('DELETE', `${path}/${enc(r2.id)}`)).status, 204);
  assertOAuthError(await t.ccRaw({ ...agent, client_secret: r2.client_secret }), { status: 401, error: 'invalid_client' });
  assertProblem(await call('DELETE', `${path}/${enc(r2.id)}`), 404);
});

test('leak reports: another tenant’s secret is unknown to a tenant admin and keeps working; a report twice is harmless', async () => {
  const theirs = await createAgent(other, { client_name: 'their leaked agent' });
  const res = okJson(await call('POST', '/leaks', [{ token: theirs.client_secret, url: 'https://x.example/', source: 'test' }]));
  assert.deepEqual(res, [{ token_type: 'client_secret', label: 'unknown' }]);
  await other.cc(theirs);
  const mine = await createAgent(t, { client_name: 'my leaked agent' });
  const body = [{ token: mine.client_secret, url: 'https://x.example/', source: 'test' }];
  assert.deepEqual(okJson(await call('POST', '/leaks', body)), [{ token_type: 'client_secret', label: 'revoked' }]);
  assert.deepEqual(okJson(await call('POST', '/leaks', body)), [{ token_type: 'client_secret', label: 'unknown' }]);
  assertOAuthError(await t.ccRaw(mine), { status: 401, error: 'invalid_client' });
});
