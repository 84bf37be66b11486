// The OpenAPI 3.1 document of the admin API (doc/openapi.json) against the
// running server (SPEC §7, §8, §9):
//  (a) every documented path + method is routed: with real, existing objects
//      it never answers 404 "no such endpoint" or 405;
//  (b) every operation is exercised with real requests and each answer is
//      checked against the document: the status must be one the operation
//      documents, the media type the documented one, the body valid against
//      its JSON Schema (ajv, draft 2020-12, formats checked), documented
//      headers present; successes and the documented errors (400, 401, 403,
//      404, 409, 413) alike; a request body the server accepted must be valid
//      against the documented request schema; and at the end every documented
//      status of every operation must have been seen (503 aside: that needs
//      the database down);
//  (c) nothing undocumented answers: plausible undocumented paths get 404
//      "no such endpoint", and a documented path answers an undocumented
//      method with 405 whose Allow names exactly the documented methods.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { baseUrl, rootToken } from '../lib/env.mjs';
import { jsonRequest, request } from '../lib/http.mjs';
import { createTenant, randomSlug, agentClientBody, RESOURCE, RESOURCE_SCOPES } from '../lib/fixture.mjs';
import { createUser, createCodeClient, personTokens } from '../lib/codeflow.mjs';
import { createApprover, createCibaAgent, approvedSession, bcAuthorize, bcParams } from '../lib/ciba.mjs';
import { keyPair, jwksOf } from '../lib/workload.mjs';
import { assertHealthy } from '../lib/checks.mjs';

const DOC_PATH = new URL('../../doc/openapi.json', import.meta.url);
const doc = JSON.parse(readFileSync(DOC_PATH, 'utf8'));
const enc = encodeURIComponent;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// ---------------------------------------------------------------- the document

const ops = new Map(); // operationId -> {path, method, op}
for (const [path, item] of Object.entries(doc.paths)) {
  for (const m of METHODS) {
    if (!item[m]) continue;
    const id = item[m].operationId;
    assert.ok(id && !ops.has(id), `operationId of ${m.toUpperCase()} ${path} is missing or repeated`);
    ops.set(id, { path, method: m.toUpperCase(), op: item[m] });
  }
}

function deref(obj) {
  let o = obj;
  while (o && o.$ref) {
    const parts = o.$ref.replace(/^#\//, '').split('/');
    o = parts.reduce((acc, k) => acc?.[k], doc);
    assert.ok(o, `unresolvable $ref ${obj.$ref} in ${DOC_PATH.pathname}`);
  }
  return o;
}

// the schemas, with the document's refs made relative to one schema resource
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
addFormats(ajv);
const defs = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll('#/components/schemas/', '#/$defs/'));
ajv.addSchema({ $id: 'urn:authz:admin-api', $defs: defs });
function validator(schema) {
  const name = schema.$ref?.replace('#/components/schemas/', '');
  assert.ok(name && doc.components.schemas[name], `schema ${JSON.stringify(schema)} is not a named component`);
  const v = ajv.getSchema(`urn:authz:admin-api#/$defs/${name}`);
  assert.ok(v, `schema ${name} does not compile`);
  return { name, v };
}

const seen = new Map(); // operationId -> Set of statuses seen (and validated)

function errorsOf(v) {
  return (v.errors || []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`).join('; ');
}

/** Checks res against what operation `id` documents; returns res. */
function checkAnswer(id, res, sentBody) {
  const { op } = ops.get(id);
  const documented = op.responses[String(res.status)];
  assert.ok(
    documented,
    `${id}: status ${res.status} is not documented (documented: ${Object.keys(op.responses).join(', ')})\n  ${res.describe()}`,
  );
  const r = deref(documented);
  if (!r.content) {
    assert.equal(res.raw.length, 0, `${id}: ${res.status} documents no body\n  ${res.describe()}`);
  } else {
    const [mediaType] = Object.keys(r.content);
    assert.equal(res.contentType, mediaType, `${id}: ${res.status} is documented as ${mediaType}\n  ${res.describe()}`);
    assert.notEqual(res.json, undefined, `${id}: the body is not JSON\n  ${res.describe()}`);
    const { name, v } = validator(r.content[mediaType].schema);
    assert.ok(v(res.json), `${id}: the ${res.status} body does not match schema ${name}: ${errorsOf(v)}\n  ${res.describe()}`);
    if (mediaType === 'application/problem+json') {
      assert.equal(res.json.status, res.status, `${id}: problem status differs from the HTTP status\n  ${res.describe()}`);
    }
  }
  for (const [h, spec] of Object.entries(r.headers || {})) {
    const got = res.header(h);
    assert.ok(got !== undefined, `${id}: ${res.status} documents header ${h}\n  ${res.describe()}`);
    if (spec.schema?.const !== undefined) {
      assert.equal(got, spec.schema.const, `${id}: header ${h}\n  ${res.describe()}`);
    }
  }
  // a body the server accepted must be one the document accepts
  if (res.status < 300 && sentBody !== undefined && typeof sentBody === 'object' && op.requestBody) {
    const rb = deref(op.requestBody);
    const { name, v } = validator(rb.content['application/json'].schema);
    assert.ok(
      v(sentBody),
      `${id}: the server accepted a body that schema ${name} refuses: ${errorsOf(v)}\n  body: ${JSON.stringify(sentBody)}`,
    );
  }
  if (!seen.has(id)) seen.set(id, new Set());
  seen.get(id).add(res.status);
  return res;
}

function urlOf(id, params = {}, query) {
  const { path } = ops.get(id);
  const p = path.replace(/\{([^}]+)\}/g, (_, k) => {
    assert.ok(params[k] !== undefined, `${id}: path parameter ${k} missing`);
    return enc(params[k]);
  });
  const qs = query === undefined ? '' : typeof query === 'string' ? query : new URLSearchParams(query).toString();
  return `${baseUrl()}/admin/v1${p}${qs ? `?${qs}` : ''}`;
}

/**
 * Calls operation `id` and checks the answer against the document.
 * `token`: the bearer (root by default; null for none); `expect`: the status
 * the test wants (a number or a list).
 */
async function api(id, { params, query, body, token, expect, headers } = {}) {
  const { method } = ops.get(id);
  const res = await jsonRequest(method, urlOf(id, params, query), {
    token: token === undefined ? rootToken() : token,
    body,
    headers,
  });
  checkAnswer(id, res, body);
  if (expect !== undefined) {
    const want = [expect].flat();
    assert.ok(want.includes(res.status), `${id}: expected ${want.join(' or ')}\n  ${res.describe()}`);
  }
  return res;
}

// ---------------------------------------------------------------- the world

let t; // fixture tenant (lib/fixture.mjs): resources, three clients, discovery
let other; // a second tenant
let adminToken; // tenant admin token of t
let plainToken; // an active token of t without admin rights
let slugOnlyHere; // a tenant created by this test
const P = {}; // path parameters that exist: tenant, client_id, username, sid, name

before(async () => {
  t = await createTenant('oa');
  other = await createTenant('oa-other');
  adminToken = await t.accessToken(t.clients.basic, { scope: 'admin' });
  plainToken = await t.accessToken(t.clients.readonly, { scope: 'tools:read', resource: RESOURCE });
  // objects that exist, for the routing checks; (a) may delete the client
  // and the person (DELETE with valid parameters), so they serve nothing else
  P.tenant = t.slug;
  const target = await api('createClient', {
    params: { tenant: t.slug },
    body: agentClientBody({ client_name: 'openapi routing target' }),
    expect: 201,
  });
  P.client_id = target.json.client_id;
  P.username = (await createUser(t)).username;
  P.name = 'k8s-agents';
  P.sid = 'no-such-session';
  P.secret_id = 'cs_no_such_secret';
});

// ---------------------------------------------------------------- document sanity

test('the document is OpenAPI 3.1 and every schema compiles (every $ref resolves)', () => {
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  for (const name of Object.keys(doc.components.schemas)) validator({ $ref: `#/components/schemas/${name}` });
  for (const [id, { op }] of ops) {
    assert.ok(Object.keys(op.responses).length > 0, `${id} documents responses`);
    for (const r of Object.values(op.responses)) deref(r);
    for (const p of op.parameters || []) deref(p);
    if (op.requestBody) validator(deref(op.requestBody).content['application/json'].schema);
  }
  assert.ok(ops.size >= 25, `the whole admin API is documented (${ops.size} operations)`);
});

// ---------------------------------------------------------------- (b) tenants and keys

test('tenants: create (root), read, patch; errors 400, 404, 409', async () => {
  slugOnlyHere = randomSlug('oa-new');
  const created = await api('createTenant', { body: { slug: slugOnlyHere, display_name: 'OpenAPI test' }, expect: 201 });
  assert.equal(created.json.slug, slugOnlyHere);
  await api('createTenant', { body: { slug: slugOnlyHere }, expect: 409 });
  await api('createTenant', { body: { slug: 'Not A Slug' }, expect: 400 });
  await api('createTenant', { body: '{"slug":', expect: 400 });
  await api('createTenant', { body: [1, 2], expect: 400 });
  // root only: a tenant admin token gets 404
  await api('createTenant', { body: { slug: randomSlug('oa-no') }, token: adminToken, expect: 404 });

  const got = await api('getTenant', { params: { tenant: slugOnlyHere }, expect: 200 });
  assert.equal(got.json.id, created.json.id);
  await api('getTenant', { params: { tenant: randomSlug('oa-none') }, expect: 404 });

  const patch = {
    registration_policy: 'token',
    access_token_ttl: 900,
    max_session_ttl: 7200,
    approval_webhook_url: 'https://hooks.example.test/approvals',
    approval_webhook_secret: 'a-webhook-secret-of-some-length',
    display_name: 'OpenAPI test, renamed',
  };
  const p = await api('patchTenant', { params: { tenant: slugOnlyHere }, body: patch, expect: 200 });
  assert.equal(p.json.access_token_ttl, 900);
  assert.equal(p.json.approval_webhook_secret_set, true);
  assert.equal(p.json.approval_webhook_secret, undefined, 'the webhook secret is write-only');
  const p2 = await api('patchTenant', {
    params: { tenant: slugOnlyHere },
    body: { approval_webhook_url: null, approval_webhook_secret: null, signing_alg: 'EdDSA' },
    expect: 200,
  });
  assert.equal(p2.json.approval_webhook_url, null);
  assert.equal(p2.json.signing_alg, 'EdDSA');
  await api('patchTenant', { params: { tenant: slugOnlyHere }, body: { access_token_ttl: 4 }, expect: 400 });
  await api('patchTenant', { params: { tenant: slugOnlyHere }, body: { id: 'x' }, expect: 400 });
  await api('patchTenant', { params: { tenant: randomSlug('oa-none') }, body: { access_token_ttl: 60 }, expect: 404 });

  // SPEC §13: GET /admin/v1/tenants (root), keyset-paged as audit is
  const seenSlugs = new Set();
  let cursor = null;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await api('listTenants', { query: cursor ? { limit: '50', cursor } : { limit: '50' }, expect: 200 });
    for (const x of page.json.tenants) {
      assert.ok(!seenSlugs.has(x.slug), `${x.slug} appears on two pages`);
      seenSlugs.add(x.slug);
    }
    cursor = page.json.next_cursor;
    if (!cursor) break;
  }
  assert.ok(seenSlugs.has(slugOnlyHere) && seenSlugs.has(t.slug), 'every tenant is on some page');
  await api('listTenants', { query: { limit: '0' }, expect: 400 });
  await api('listTenants', { query: { limit: '1001' }, expect: 400 });
  await api('listTenants', { query: { cursor: 'not a cursor' }, expect: 400 });
  // root only: a tenant admin token gets 404
  await api('listTenants', { token: adminToken, expect: 404 });
});

test('keys: rotate', async () => {
  const r = await api('rotateKeys', { params: { tenant: slugOnlyHere }, expect: 201 });
  assert.equal(r.json.alg, 'EdDSA', 'the new key has the tenant signing_alg');
  await api('rotateKeys', { params: { tenant: randomSlug('oa-none') }, expect: 404 });
});

// ---------------------------------------------------------------- resources

test('resources: create, list, delete; errors 400, 404, 409', async () => {
  const uri = 'https://openapi.example.test/mcp';
  const c = await api('createResource', { params: P, body: { uri, scopes: ['oa:read', 'oa:write'] }, expect: 201 });
  assert.deepEqual(c.json.scopes, ['oa:read', 'oa:write']);
  await api('createResource', { params: P, body: { uri, scopes: [] }, expect: 409 });
  await api('createResource', { params: P, body: { uri: 'https://x.example.test/#frag' }, expect: 400 });
  await api('createResource', { params: P, body: { uri: 'https://x.example.test/', scopes: ['a b'] }, expect: 400 });
  const l = await api('listResources', { params: P, expect: 200 });
  assert.ok(l.json.resources.some((r) => r.uri === uri));
  const u = await api('updateResource', { params: P, query: { uri }, body: { scope_descriptions: { 'oa:read': 'Read things' } }, expect: 200 });
  assert.deepEqual(u.json.scope_descriptions, { 'oa:read': 'Read things' });
  await api('updateResource', { params: P, query: { uri }, body: { scope_descriptions: { 'oa:other': 'Not a scope of it' } }, expect: 400 });
  await api('updateResource', { params: P, body: { scope_descriptions: {} }, expect: 400 });
  await api('updateResource', { params: P, query: { uri: 'https://none.example.test/' }, body: { scope_descriptions: {} }, expect: 404 });
  await api('deleteResource', { params: P, query: { uri }, expect: 204 });
  await api('deleteResource', { params: P, query: { uri }, expect: 404 });
  await api('deleteResource', { params: P, expect: 400 });
});

// ---------------------------------------------------------------- clients

test('clients: create (secret, public, private_key_jwt, CIBA ping), list, read, patch, delete; errors', async () => {
  const secretClient = await api('createClient', {
    params: P,
    body: agentClientBody({ client_name: 'oa agent', introspects: [RESOURCE], can_act_for: ['someone'] }),
    expect: 201,
  });
  assert.equal(typeof secretClient.json.client_secret, 'string', 'a client_secret_basic client gets its secret once');
  const pub = await api('createClient', {
    params: P,
    body: {
      client_name: 'oa public app',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['http://127.0.0.1:8765/callback', 'https://app.example.test/cb'],
      token_endpoint_auth_method: 'none',
      allowed_scopes: [...RESOURCE_SCOPES],
      allowed_resources: [RESOURCE],
    },
    expect: 201,
  });
  assert.equal(pub.json.client_secret, undefined, 'a public client has no secret');
  const k = await keyPair('ES256');
  await api('createClient', {
    params: P,
    body: {
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: jwksOf(k),
      allowed_scopes: ['tools:read'],
      allowed_resources: [RESOURCE],
    },
    expect: 201,
  });
  await api('createClient', {
    params: P,
    body: agentClientBody({
      grant_types: ['urn:openid:params:grant-type:ciba'],
      backchannel_token_delivery_mode: 'ping',
      backchannel_client_notification_endpoint: 'https://agent.example.test/ciba',
    }),
    expect: 201,
  });
  // errors
  await api('createClient', { params: P, body: agentClientBody({ grant_types: ['password'] }), expect: 400 });
  await api('createClient', {
    params: P,
    body: { grant_types: ['authorization_code'], redirect_uris: ['http://evil.example.test/cb'] },
    expect: 400,
  });
  await api('createClient', { params: P, body: agentClientBody({ allowed_resources: ['https://not-here.example/'] }), expect: 400 });
  await api('createClient', { params: P, body: '', expect: 400 });

  const list = await api('listClients', { params: P, query: { limit: '1000' }, expect: 200 });
  assert.ok(list.json.clients.some((c) => c.client_id === pub.json.client_id));
  await api('listClients', { params: P, query: { limit: '0' }, expect: 400 });
  await api('listClients', { params: P, query: { status: 'retired' }, expect: 400 });
  const got = await api('getClient', { params: { ...P, client_id: pub.json.client_id }, expect: 200 });
  assert.equal(got.json.client_secret, undefined, 'a client is never answered with its secret');
  await api('getClient', { params: { ...P, client_id: 'no-such-client' }, expect: 404 });

  const renamed = await api('patchClient', {
    params: { ...P, client_id: secretClient.json.client_id },
    body: { client_name: 'oa agent, renamed', allowed_scopes: ['tools:read'] },
    expect: 200,
  });
  assert.equal(renamed.json.client_name, 'oa agent, renamed');
  assert.equal(renamed.json.client_secret, undefined, 'no new secret when the method stays');
  const switched = await api('patchClient', {
    params: { ...P, client_id: pub.json.client_id },
    body: { token_endpoint_auth_method: 'client_secret_basic' },
    expect: 200,
  });
  assert.equal(typeof switched.json.client_secret, 'string', 'switching to client_secret_basic answers a new secret');
  await api('patchClient', { params: { ...P, client_id: pub.json.client_id }, body: { client_id: 'x' }, expect: 400 });
  await api('patchClient', { params: { ...P, client_id: pub.json.client_id }, body: { grant_types: 'code' }, expect: 400 });
  await api('patchClient', { params: { ...P, client_id: 'no-such-client' }, body: { client_name: 'x' }, expect: 404 });

  await api('deleteClient', { params: { ...P, client_id: secretClient.json.client_id }, expect: 204 });
  await api('deleteClient', { params: { ...P, client_id: secretClient.json.client_id }, expect: 404 });
});

// ---------------------------------------------------------------- users

test('users: create, read, patch, delete; errors 400, 404, 409', async () => {
  const name = `oa-${randomSlug('u')}`;
  const c = await api('createUser', {
    params: P,
    body: { username: name, password: 'a long enough password', scopes: ['tools:read'] },
    expect: 201,
  });
  assert.equal(c.json.password, undefined, 'the password is never returned');
  await api('createUser', { params: P, body: { username: name, password: 'another password' }, expect: 409 });
  await api('createUser', { params: P, body: { username: 'short-pw', password: 'short' }, expect: 400 });
  await api('createUser', { params: P, body: { username: 'a/b', password: 'long enough password' }, expect: 400 });
  const got = await api('getUser', { params: { ...P, username: name }, expect: 200 });
  assert.equal(got.json.id, c.json.id);
  await api('getUser', { params: { ...P, username: 'nobody-here' }, expect: 404 });
  const p = await api('patchUser', {
    params: { ...P, username: name },
    body: { username: `${name}-2`, password: 'yet another password', scopes: ['tools:read', 'tools:call'] },
    expect: 200,
  });
  assert.equal(p.json.id, c.json.id, 'a rename keeps the sub');
  await api('patchUser', { params: { ...P, username: `${name}-2` }, body: { username: P.username }, expect: 409 });
  await api('patchUser', { params: { ...P, username: `${name}-2` }, body: { id: 'x' }, expect: 400 });
  await api('patchUser', { params: { ...P, username: 'nobody-here' }, body: { scopes: [] }, expect: 404 });
  const listed = await api('listUsers', { params: P, query: { limit: '1000' }, expect: 200 });
  assert.ok(listed.json.users.some((u) => u.id === c.json.id), 'the person is listed');
  const one = await api('listUsers', { params: P, query: { limit: '1' }, expect: 200 });
  assert.equal(one.json.users.length, 1);
  assert.equal(typeof one.json.next_cursor, 'string', 'more than one person: a next page');
  await api('listUsers', { params: P, query: { limit: '1', cursor: one.json.next_cursor }, expect: 200 });
  await api('listUsers', { params: P, query: { status: 'sleeping' }, expect: 400 });
  await api('listUsers', { params: P, query: { cursor: 'bm9wZQ' }, expect: 400 });
  await api('deleteUser', { params: { ...P, username: `${name}-2` }, expect: 204 });
  await api('deleteUser', { params: { ...P, username: `${name}-2` }, expect: 404 });
});

// ---------------------------------------------------------------- consents

test('consents: list (filters), withdraw; errors 400, 404', async () => {
  const client = await createCodeClient(t);
  const user = await createUser(t);
  await personTokens(t, client, user);
  const all = await api('listConsents', { params: P, expect: 200 });
  assert.ok(all.json.consents.some((c) => c.client_id === client.client_id && c.subject === user.id));
  const mine = await api('listConsents', { params: P, query: { user: user.id, client: client.client_id }, expect: 200 });
  assert.equal(mine.json.consents.length, 1);
  await api('listConsents', { params: P, query: { user: 'not-a-sub' }, expect: 200 });
  await api('listConsents', { params: P, query: 'user=%ZZ', expect: 400 });
  await api('withdrawConsents', { params: P, expect: 400 });
  const w = await api('withdrawConsents', { params: P, query: { user: user.id, client: client.client_id }, expect: 200 });
  assert.equal(w.json.withdrawn, 1);
  await api('withdrawConsents', { params: P, query: { user: user.id, client: client.client_id }, expect: 404 });
});

// ---------------------------------------------------------------- sessions

test('sessions: list (pending and active), revoke; errors 400, 404', async () => {
  const approver = await createApprover(t);
  const agent = await createCibaAgent(t);
  const person = await createUser(t);
  const s = await approvedSession(t, agent, person, approver);
  await bcAuthorize(t, agent, bcParams(person)); // a pending one too (sid null)
  const list = await api('listSessions', { params: P, expect: 200 });
  const mine = list.json.sessions.filter((x) => x.client_id === agent.client_id);
  assert.ok(mine.some((x) => x.sid === s.sid && x.state === 'active'), JSON.stringify(mine));
  assert.ok(mine.some((x) => x.state === 'pending'), JSON.stringify(mine));
  await api('listSessions', { params: P, query: { user: person.id, client: agent.client_id, state: 'active' }, expect: 200 });
  await api('listSessions', { params: P, query: { state: 'bogus' }, expect: 400 });
  await api('listSessions', { params: P, query: { cursor: '!!' }, expect: 400 });
  const r = await api('revokeSession', { params: { ...P, sid: s.sid }, expect: 200 });
  assert.deepEqual(r.json, { sid: s.sid, state: 'revoked' });
  await api('revokeSession', { params: { ...P, sid: s.sid }, expect: 404 });
  const after = await api('listSessions', { params: P, query: { state: 'revoked' }, expect: 200 });
  assert.ok(after.json.sessions.some((x) => x.sid === s.sid));
});

// ---------------------------------------------------------------- audit

test('audit: every event of the flows above matches the schema; filters and cursor paging; errors 400', async () => {
  const page = await api('listAudit', { params: P, query: { limit: '1000' }, expect: 200 });
  const kinds = new Set(page.json.events.map((e) => e.event));
  for (const k of ['admin.changed', 'token.issued', 'consent.granted', 'consent.withdrawn', 'session.approved', 'session.revoked']) {
    assert.ok(kinds.has(k), `audit has ${k} events: ${[...kinds].join(', ')}`);
  }
  const first = await api('listAudit', { params: P, query: { limit: '2', event: 'admin.changed' }, expect: 200 });
  assert.equal(first.json.events.length, 2);
  assert.equal(typeof first.json.next_cursor, 'string');
  const second = await api('listAudit', {
    params: P,
    query: { limit: '2', event: 'admin.changed', cursor: first.json.next_cursor },
    expect: 200,
  });
  assert.ok(!second.json.events.some((e) => first.json.events.some((f) => f.id === e.id)), 'pages do not overlap');
  await api('listAudit', {
    params: P,
    query: { since: '2020-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z', client: t.clients.basic.client_id },
    expect: 200,
  });
  await api('listAudit', { params: P, query: { limit: '0' }, expect: 400 });
  await api('listAudit', { params: P, query: { limit: '1001' }, expect: 400 });
  await api('listAudit', { params: P, query: { since: 'yesterday' }, expect: 400 });
  await api('listAudit', { params: P, query: { cursor: 'nope' }, expect: 400 });
});

// ---------------------------------------------------------------- trust policies

test('trust policies: put (create, replace), read, list, delete; errors 400, 404', async () => {
  const k = await keyPair('ES256');
  const actor = {
    issuer: 'https://kubernetes.default.svc.cluster.local',
    jwks: jwksOf(k),
    audience: 'authz-openapi',
    subject_pattern: 'system:serviceaccount:agents:*',
    required_claims: { 'kubernetes.io/namespace': 'agents' },
    max_token_age: 3600,
    use: ['actor'],
    maps_to_client: t.clients.basic.client_id,
  };
  const c = await api('putTrustPolicy', { params: P, body: actor, expect: 201 });
  assert.equal(c.json.name, P.name);
  assert.ok(c.header('location'), 'a created policy answers with its Location');
  const again = await api('putTrustPolicy', { params: P, body: { ...c.json, audience: 'authz-openapi-2' }, expect: 200 });
  assert.equal(again.json.audience, 'authz-openapi-2');
  await api('putTrustPolicy', {
    params: { ...P, name: 'staff-idp' },
    body: {
      issuer: 'https://idp.example.test/realms/staff',
      jwks_uri: 'https://idp.example.test/realms/staff/certs',
      audience: 'authz',
      use: ['subject'],
      user_claim: 'preferred_username',
    },
    expect: 201,
  });
  await api('getTrustPolicy', { params: P, expect: 200 });
  const l = await api('listTrustPolicies', { params: P, expect: 200 });
  assert.deepEqual(l.json.trust_policies.map((x) => x.name), ['k8s-agents', 'staff-idp']);
  await api('putTrustPolicy', { params: P, body: { ...actor, use: undefined }, expect: 400 });
  await api('putTrustPolicy', { params: P, body: { ...actor, jwks_uri: 'https://x.example/jwks' }, expect: 400 });
  await api('putTrustPolicy', { params: P, body: { ...actor, maps_to_client: 'no-such-client' }, expect: 400 });
  await api('putTrustPolicy', { params: { ...P, name: 'Bad Name' }, body: actor, expect: 400 });
  await api('deleteTrustPolicy', { params: { ...P, name: 'staff-idp' }, expect: 204 });
  await api('deleteTrustPolicy', { params: { ...P, name: 'staff-idp' }, expect: 404 });
  await api('getTrustPolicy', { params: { ...P, name: 'staff-idp' }, expect: 404 });
});

// ---------------------------------------------------------------- tool catalog, drift (SPEC §12)

test('tool catalog: put (create, replace), read, list, delete, unknown_tools, baseline, drift settings; errors 400, 404', async () => {
  const Q = { resource: RESOURCE };
  const S = { ...P, name: 'search' };
  const c = await api('putTool', { params: S, query: Q, body: { scopes: ['tools:read'], risk: 'read', approval: 'none' }, expect: 201 });
  assert.equal(c.json.name, 'search');
  assert.equal(c.json.resource, RESOURCE);
  // a document read with GET may be PUT back
  const again = await api('putTool', { params: S, query: Q, body: { ...c.json, risk: 'write', approval: 'session' }, expect: 200 });
  assert.equal(again.json.risk, 'write');
  assert.equal(again.json.approval, 'session');
  await api('getTool', { params: S, query: Q, expect: 200 });
  const l = await api('listTools', { params: P, query: Q, expect: 200 });
  assert.deepEqual(l.json.tools.map((x) => x.name), ['search']);
  assert.equal(l.json.unknown_tools, 'deny', 'unknown_tools defaults to deny');
  await api('putTool', { params: S, query: Q, body: { risk: 'fatal' }, expect: 400 });
  await api('putTool', { params: S, query: Q, body: { approval: 'always' }, expect: 400 });
  await api('putTool', { params: S, query: Q, body: { scopes: ['two words'] }, expect: 400 });
  await api('putTool', { params: S, query: Q, body: { name: 'other' }, expect: 400 });
  await api('putTool', { params: { ...P, name: 'no spaces allowed' }, query: Q, body: {}, expect: 400 });
  await api('putTool', { params: S, body: {}, expect: 400 }); // which resource?
  await api('putTool', { params: S, query: { resource: 'https://not-a-resource.example/' }, body: {}, expect: 404 });
  await api('listTools', { params: P, query: { resource: 'https://not-a-resource.example/' }, expect: 404 });
  const pr = await api('updateResource', { params: P, query: { uri: RESOURCE }, body: { unknown_tools: 'allow' }, expect: 200 });
  assert.equal(pr.json.unknown_tools, 'allow');
  await api('updateResource', { params: P, query: { uri: RESOURCE }, body: { unknown_tools: 'sometimes' }, expect: 400 });
  await api('updateResource', { params: P, query: { uri: 'https://not-a-resource.example/' }, body: { unknown_tools: 'deny' }, expect: 404 });
  await api('updateResource', { params: P, query: { uri: RESOURCE }, body: { unknown_tools: 'deny' }, expect: 200 });
  // one PATCH for both settings: an empty one is 400, and each leaves the other as it was
  await api('updateResource', { params: P, query: { uri: RESOURCE }, body: {}, expect: 400 });
  const both = await api('updateResource', { params: P, query: { uri: RESOURCE }, body: { unknown_tools: 'allow', scope_descriptions: {} }, expect: 200 });
  assert.deepEqual([both.json.unknown_tools, both.json.scope_descriptions], ['allow', {}]);
  const one = await api('updateResource', { params: P, query: { uri: RESOURCE }, body: { unknown_tools: 'deny' }, expect: 200 });
  assert.deepEqual([one.json.unknown_tools, one.json.scope_descriptions], ['deny', {}]);
  await api('deleteTool', { params: S, query: Q, expect: 204 });
  await api('deleteTool', { params: S, query: Q, expect: 404 });
  await api('getTool', { params: S, query: Q, expect: 404 });
  const b = await api('getBaseline', { params: P, expect: 200 });
  assert.deepEqual(b.json.baseline, []);
  assert.equal(b.json.window_days, 14);
  await api('getBaseline', { params: { ...P, client_id: 'no-such-client' }, expect: 404 });
  const d = await api('patchTenant', {
    params: { tenant: t.slug },
    body: { drift_mode: 'deny', drift_window_days: 7, drift_webhook_url: 'https://hooks.example.test/drift' },
    expect: 200,
  });
  assert.deepEqual([d.json.drift_mode, d.json.drift_window_days, d.json.drift_webhook_url], ['deny', 7, 'https://hooks.example.test/drift']);
  await api('patchTenant', { params: { tenant: t.slug }, body: { drift_mode: 'sometimes' }, expect: 400 });
  await api('patchTenant', { params: { tenant: t.slug }, body: { drift_window_days: 0 }, expect: 400 });
  await api('patchTenant', { params: { tenant: t.slug }, body: { drift_webhook_url: 'http://hooks.example.test/' }, expect: 400 });
  const back = await api('patchTenant', {
    params: { tenant: t.slug },
    body: { drift_mode: 'alert', drift_window_days: 14, drift_webhook_url: null },
    expect: 200,
  });
  assert.equal(back.json.drift_webhook_url, null);
});

// ---------------------------------------------------------------- lifecycle (SPEC §13)

test('client secrets: rotate with overlap, list, delete; bad bodies and unknown ids (SPEC §13)', async () => {
  const c = await api('createClient', {
    params: { tenant: t.slug },
    body: agentClientBody({ client_name: 'openapi secrets' }),
    expect: 201,
  });
  const params = { tenant: t.slug, client_id: c.json.client_id };
  const rot = await api('rotateClientSecret', { params, body: { previous_expires_in: 60 }, expect: 201 });
  assert.match(rot.json.client_secret, /^azcs_[0-9A-Za-z]{46}$/);
  await api('rotateClientSecret', { params, expect: 201 }); // no body: previous_expires_in 0
  await api('rotateClientSecret', { params, body: { previous_expires_in: -1 }, expect: 400 });
  await api('rotateClientSecret', { params, body: { previous_expires_in: 2592001 }, expect: 400 });
  await api('rotateClientSecret', { params: { ...params, client_id: 'no-such-client' }, body: {}, expect: 404 });
  const list = await api('listClientSecrets', { params, expect: 200 });
  assert.equal(list.json.secrets.length, 3);
  assert.ok(!JSON.stringify(list.json).includes(rot.json.client_secret), 'a list never shows a secret');
  await api('listClientSecrets', { params: { ...params, client_id: 'no-such-client' }, expect: 404 });
  await api('deleteClientSecret', { params: { ...params, secret_id: rot.json.id }, expect: 204 });
  await api('deleteClientSecret', { params: { ...params, secret_id: rot.json.id }, expect: 404 });
  await api('deleteClientSecret', { params: { ...params, secret_id: 'x' }, body: { no: 1 }, expect: 400 });
  await api('listClientSecrets', { params, body: { no: 1 }, expect: 400 });
});

test('leak reports: revoked, unknown, bad bodies, who may report (SPEC §13)', async () => {
  const c = await api('createClient', {
    params: { tenant: t.slug },
    body: agentClientBody({ client_name: 'openapi leaked' }),
    expect: 201,
  });
  const r1 = await api('reportLeaks', {
    body: [{ token: c.json.client_secret, url: 'https://paste.example/x', source: 'openapi test' }, { token: 'nothing-of-ours' }],
    token: adminToken,
    expect: 200,
  });
  assert.deepEqual(r1.json, [
    { token_type: 'client_secret', label: 'revoked' },
    { token_type: 'unknown', label: 'unknown' },
  ]);
  for (const body of [[], [{}], [{ token: 'x', extra: 1 }], { token: 'x' }, [{ token: 5 }]]) {
    await api('reportLeaks', { body, expect: 400 });
  }
  await api('reportLeaks', { body: [{ token: 'x' }], token: plainToken, expect: 403 });
});

// ---------------------------------------------------------------- (a) every documented route is routed

/** Valid parameters for every operation, against objects that exist. */
function paramsFor(id) {
  return { ...P, tenant: t.slug };
}

test('(a) every documented path + method is routed: never 404 "no such endpoint", never 405', async () => {
  for (const [id, { method, path }] of ops) {
    // a bodiless request with the root token to existing objects: the answer
    // may be a documented error (400 for a missing body), never a routing miss
    const res = await jsonRequest(method, urlOf(id, paramsFor(id)), { token: rootToken() });
    checkAnswer(id, res);
    assert.notEqual(res.status, 405, `${method} ${path} is documented but answers 405\n  ${res.describe()}`);
    assert.ok(
      !(res.status === 404 && /no such endpoint/.test(res.json?.detail ?? '')),
      `${method} ${path} is documented but not routed\n  ${res.describe()}`,
    );
  }
});

// ---------------------------------------------------------------- (b) errors every operation documents

test('401 for every operation: no token, a malformed token, an unknown root token', async () => {
  for (const [id] of ops) {
    const url = urlOf(id, paramsFor(id));
    const { method } = ops.get(id);
    for (const token of [null, 'azr_not-a-root-token', 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.']) {
      const res = await jsonRequest(method, url, { token });
      checkAnswer(id, res);
      assert.equal(res.status, 401, `${id} without a valid token\n  ${res.describe()}`);
      assert.match(res.header('www-authenticate') || '', /^Bearer /, `${id}: 401 challenges Bearer`);
    }
  }
});

test("403 inside the tenant for a token without admin rights; 404 for a tenant admin token on another tenant", async () => {
  for (const [id, { method }] of ops) {
    // not in a tenant: 404 for any non-root token (checked above and below)
    if (id === 'createTenant' || id === 'listTenants') continue;
    if (id === 'reportLeaks') continue; // not in a tenant: a tenant admin reports for its own (test below)
    const res = await jsonRequest(method, urlOf(id, paramsFor(id)), { token: plainToken });
    checkAnswer(id, res);
    assert.equal(res.status, 403, `${id} with a non-admin token of the tenant\n  ${res.describe()}`);
    const res2 = await jsonRequest(method, urlOf(id, { ...paramsFor(id), tenant: other.slug }), { token: adminToken });
    checkAnswer(id, res2);
    assert.equal(res2.status, 404, `${id} with the admin token of another tenant\n  ${res2.describe()}`);
  }
  const res = await jsonRequest('POST', urlOf('createTenant'), { token: plainToken, body: { slug: randomSlug('x') } });
  checkAnswer('createTenant', res, undefined);
  assert.equal(res.status, 404);
  const list = await jsonRequest('GET', urlOf('listTenants'), { token: plainToken });
  checkAnswer('listTenants', list, undefined);
  assert.equal(list.status, 404, 'the list of tenants is the root operator\'s only');
});

test('a tenant admin token works on its own tenant (answers match the document)', async () => {
  await api('getTenant', { params: { tenant: t.slug }, token: adminToken, expect: 200 });
  await api('listClients', { params: { tenant: t.slug }, token: adminToken, expect: 200 });
  await api('listAudit', { params: { tenant: t.slug }, query: { limit: '5' }, token: adminToken, expect: 200 });
});

test('413 for a body over max_body_bytes on every operation that takes a body', async () => {
  // over the default max_body_bytes (64 KiB) the test server runs with
  const big = JSON.stringify({ client_name: 'x'.repeat(1024 * 1024) });
  for (const [id, { method, op }] of ops) {
    if (!op.requestBody) continue;
    const res = await jsonRequest(method, urlOf(id, paramsFor(id)), { token: rootToken(), body: big });
    checkAnswer(id, res);
    assert.equal(res.status, 413, `${id} with a ${big.length}-byte body\n  ${res.describe()}`);
  }
  await assertHealthy('the oversized bodies');
});

test('400 naming the member for an unknown member on every operation, with a body or without (SPEC §9)', async () => {
  // an operation that takes a body refuses a member it does not document;
  // one that takes none refuses any body but {} (the same words either way)
  for (const [id, { method }] of ops) {
    const res = await jsonRequest(method, urlOf(id, paramsFor(id)), { token: rootToken(), body: { no_such_member: 1 } });
    checkAnswer(id, res);
    assert.equal(res.status, 400, `${id} with an unknown member\n  ${res.describe()}`);
    assert.match(res.json.detail, /"no_such_member"/, `${id}: the detail names the member\n  ${res.describe()}`);
  }
  await assertHealthy('the unknown members');
});

// ---------------------------------------------------------------- (c) nothing undocumented answers

/** An answer outside any documented operation is still a Problem document. */
function assertProblemDoc(res) {
  assert.equal(res.contentType, 'application/problem+json', res.describe());
  const { v } = validator({ $ref: '#/components/schemas/Problem' });
  assert.ok(v(res.json), `not a Problem document: ${errorsOf(v)}\n  ${res.describe()}`);
  assert.equal(res.json.status, res.status, res.describe());
}

test('(c) undocumented admin paths answer 404 "no such endpoint"', async () => {
  const T = `/admin/v1/tenants/${t.slug}`;
  const paths = [
    '/admin',
    '/admin/',
    '/admin/v1',
    '/admin/v1/',
    '/admin/v2/tenants',
    '/admin/v1/clients',
    '/admin/v1/users',
    '/admin/v1/tenant',
    `${T}/keys`,
    `${T}/keys/rotate/now`,
    `${T}/keys/some-kid`,
    `${T}/resources/x`,
    `${T}/clients/${P.client_id}/secret`,
    `${T}/users/${P.username}/sessions`,
    `${T}/sessions/some-sid`,
    `${T}/sessions/some-sid/approve`,
    `${T}/audit/1`,
    `${T}/consents/x`,
    `${T}/trust-policies/${P.name}/keys`,
    `${T}/webhooks`,
    `${T}/settings`,
    `${T}/grants`,
    `${T}/tokens`,
    `${T}/signing-keys`,
  ];
  const documented = (p) =>
    [...ops.values()].some(({ path }) =>
      new RegExp(`^/admin/v1${path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(p),
    );
  for (const p of paths) {
    assert.ok(!documented(p), `${p} is meant to be undocumented`);
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await jsonRequest(method, `${baseUrl()}${p}`, { token: rootToken() });
      assert.equal(res.status, 404, `${method} ${p} is not documented, so it must not answer\n  ${res.describe()}`);
      assertProblemDoc(res);
      assert.match(res.json?.detail ?? '', /no such endpoint/, res.describe());
    }
  }
});

test('(c) documented paths answer undocumented methods 405 with Allow = exactly the documented methods (and HEAD with GET)', async () => {
  for (const [path, item] of Object.entries(doc.paths)) {
    const documentedMethods = METHODS.filter((m) => item[m]).map((m) => m.toUpperCase());
    // RFC 9110 §9.3.2: HEAD is GET without the content; a documented GET
    // brings HEAD with it
    const allowed = [...new Set(documentedMethods.includes('GET') ? [...documentedMethods, 'HEAD'] : documentedMethods)];
    const anyId = item[METHODS.find((m) => item[m])].operationId;
    const url = urlOf(anyId, paramsFor(anyId));
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      if (documentedMethods.includes(method)) continue;
      const res = await jsonRequest(method, url, { token: rootToken() });
      assert.equal(res.status, 405, `${method} ${path} is not documented: 405 expected\n  ${res.describe()}`);
      assertProblemDoc(res);
      const allow = (res.header('allow') || '').split(',').map((s) => s.trim()).filter(Boolean).sort();
      assert.deepEqual(allow, [...allowed].sort(), `Allow of ${path}\n  ${res.describe()}`);
    }
  }
});

// ---------------------------------------------------------------- coverage

test('every documented status of every operation was exercised and matched the document (503 aside)', () => {
  const missing = [];
  for (const [id, { op }] of ops) {
    for (const status of Object.keys(op.responses)) {
      if (status === '503') continue; // needs the database down: tests/integration covers 503
      if (!seen.get(id)?.has(Number(status))) missing.push(`${id} ${status}`);
    }
  }
  assert.deepEqual(missing, [], `documented but never seen: ${missing.join(', ')}`);
});
