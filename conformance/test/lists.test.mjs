// Issue 15 item 4, over plain HTTP: the lists of SPEC §13 (GET
// /admin/v1/tenants, .../users, .../clients with owner and status filters,
// keyset paging with cursor / next_cursor "as for audit") and the person's
// own view on {ISSUER}/approvals: the agents she consented to, each with a
// withdraw button that goes through the admin API's withdrawal (the consent,
// its grants and what was exchanged under it end).
//
// From the attacker's side: a cursor from another tenant shows nothing of
// that tenant, malformed limits, cursors and filters are 400 problems, a
// tenant admin sees its own tenant only; on the approvals page a withdraw
// without the CSRF token, with another session's token, or naming another
// person's consent changes nothing.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl, rootToken } from '../lib/env.mjs';
import { jsonRequest } from '../lib/http.mjs';
import { assertProblem, okJson } from '../lib/checks.mjs';
import { createTenant, agentClientBody, RESOURCE } from '../lib/fixture.mjs';
import {
  createUser,
  createCodeClient,
  personTokens,
  introspect,
  refreshRaw,
  consents,
  auditEvents,
} from '../lib/codeflow.mjs';
import { UserAgent, parseForms, pageText, isRedirect, locationOf } from '../lib/useragent.mjs';

const enc = encodeURIComponent;
const admin = (path, opts = {}) => jsonRequest(opts.method ?? 'GET', `${baseUrl()}/admin/v1${path}`, { token: rootToken(), ...opts });

/** Every row of a paged list, following next_cursor; asserts no row twice. */
async function allPages(path, member, key, { limit = 2, token, query = {} } = {}) {
  const rows = [];
  const keys = new Set();
  let cursor = null;
  for (let i = 0; i < 500; i++) {
    const qs = new URLSearchParams({ ...query, limit: String(limit), ...(cursor ? { cursor } : {}) });
    const res = await admin(`${path}?${qs}`, { token: token ?? rootToken() });
    const body = okJson(res);
    assert.ok(Array.isArray(body[member]), `${path}: ${member} is an array: ${res.describe()}`);
    assert.ok(body[member].length <= limit, `${path}: at most limit=${limit} rows on a page`);
    assert.ok('next_cursor' in body, `${path}: next_cursor is always there (null on the last page)`);
    for (const r of body[member]) {
      assert.ok(!keys.has(r[key]), `${path}: ${r[key]} on two pages`);
      keys.add(r[key]);
      rows.push(r);
    }
    cursor = body.next_cursor;
    if (cursor === null) return rows;
    assert.equal(typeof cursor, 'string');
  }
  throw new Error(`${path}: paging did not end`);
}

let t;
let other;
let agents;

before(async () => {
  t = await createTenant('lists');
  other = await createTenant('lists-other');
  agents = [];
  for (let i = 0; i < 5; i++) {
    agents.push(okJson(await admin(`/tenants/${t.slug}/clients`, { method: 'POST', body: agentClientBody({ client_name: `list agent ${i}` }) }), 201));
  }
});

test('GET …/clients pages through every client once, oldest first, with next_cursor null on the last page', async () => {
  const rows = await allPages(`/tenants/${t.slug}/clients`, 'clients', 'client_id', { limit: 2 });
  const ids = rows.map((r) => r.client_id);
  for (const a of [...Object.values(t.clients), ...agents]) assert.ok(ids.includes(a.client_id), `${a.client_id} listed`);
  assert.equal(ids.length, 8, 'the three fixture clients and five agents, nothing of the other tenant');
  // creation order: the agents come in the order they were made
  const pos = agents.map((a) => ids.indexOf(a.client_id));
  assert.deepEqual([...pos].sort((x, y) => x - y), pos, 'oldest first');
  for (const r of rows) {
    assert.ok(r.owner === null, 'no owner given: null (flagged in the console)');
    assert.equal(r.status, 'active');
  }
});

test('GET …/users and GET /admin/v1/tenants page the same way', async () => {
  const people = [];
  for (let i = 0; i < 3; i++) people.push(await createUser(t));
  const rows = await allPages(`/tenants/${t.slug}/users`, 'users', 'id', { limit: 1 });
  assert.deepEqual(rows.map((r) => r.id).sort(), people.map((p) => p.id).sort());
  for (const r of rows) assert.equal(r.password_hash ?? r.password, undefined, 'no password, no hash');
  const tenants = await allPages('/tenants', 'tenants', 'slug', { limit: 50 });
  assert.ok(tenants.some((x) => x.slug === t.slug) && tenants.some((x) => x.slug === other.slug));
});

test('a cursor taken from another tenant’s list shows nothing of that tenant', async () => {
  const page = okJson(await admin(`/tenants/${t.slug}/clients?limit=1`));
  assert.equal(typeof page.next_cursor, 'string');
  const res = okJson(await admin(`/tenants/${other.slug}/clients?limit=100&cursor=${enc(page.next_cursor)}`));
  const mine = new Set([...Object.values(t.clients), ...agents].map((c) => c.client_id));
  for (const c of res.clients) assert.ok(!mine.has(c.client_id), `another tenant's client ${c.client_id} leaked`);
});

test('owner and status filters: the agents a person owns, the disabled ones', async () => {
  const owner = await createUser(t);
  const [a0, a1, a2] = agents;
  okJson(await admin(`/tenants/${t.slug}/clients/${a0.client_id}`, { method: 'PATCH', body: { owner: owner.id } }));
  okJson(await admin(`/tenants/${t.slug}/clients/${a1.client_id}`, { method: 'PATCH', body: { owner: owner.id } }));
  okJson(await admin(`/tenants/${t.slug}/clients/${a2.client_id}`, { method: 'PATCH', body: { status: 'disabled' } }));
  const owned = okJson(await admin(`/tenants/${t.slug}/clients?owner=${owner.id}`)).clients;
  assert.deepEqual(owned.map((c) => c.client_id).sort(), [a0.client_id, a1.client_id].sort());
  for (const c of owned) {
    assert.equal(c.owner, owner.id);
    assert.equal(c.owner_username, owner.username);
  }
  const disabled = okJson(await admin(`/tenants/${t.slug}/clients?status=disabled`)).clients;
  assert.deepEqual(disabled.map((c) => c.client_id), [a2.client_id]);
  const active = okJson(await admin(`/tenants/${t.slug}/clients?status=active&limit=1000`)).clients;
  assert.ok(!active.some((c) => c.client_id === a2.client_id));
  // an owner that is no sub, or another tenant's person, owns nothing here
  assert.deepEqual(okJson(await admin(`/tenants/${t.slug}/clients?owner=x'%20OR%20'1'='1`)).clients, []);
  const stranger = await createUser(other);
  assert.deepEqual(okJson(await admin(`/tenants/${t.slug}/clients?owner=${stranger.id}`)).clients, []);
  // people by status
  const gone = await createUser(t);
  okJson(await admin(`/tenants/${t.slug}/users/${enc(gone.username)}`, { method: 'PATCH', body: { status: 'disabled' } }));
  const off = okJson(await admin(`/tenants/${t.slug}/users?status=disabled`)).users;
  assert.deepEqual(off.map((u) => u.id), [gone.id]);
  assert.equal(off[0].status, 'disabled');
});

test('bad limits, cursors and filters are 400 problems on every list', async () => {
  const lists = ['/tenants', `/tenants/${t.slug}/users`, `/tenants/${t.slug}/clients`];
  const cursors = [
    'nope',
    '!!!',
    Buffer.from('123').toString('base64url'),
    Buffer.from('abc:00000000-0000-0000-0000-000000000000').toString('base64url'),
    Buffer.from("1:x' OR '1'='1").toString('base64url'),
    Buffer.from('1:00000000-0000-0000-0000-00000000000g').toString('base64url'),
    Buffer.from('99999999999999999999999:00000000-0000-0000-0000-000000000000').toString('base64url'),
    Buffer.from('9223372036854775808:00000000-0000-0000-0000-000000000000').toString('base64url'),
  ];
  for (const path of lists) {
    for (const q of ['limit=0', 'limit=1001', 'limit=-1', 'limit=1.5', 'limit=abc', 'limit=', 'cursor=', 'limit=%zz']) {
      assertProblem(await admin(`${path}?${q}`), 400);
    }
    for (const c of cursors) assertProblem(await admin(`${path}?cursor=${enc(c)}`), 400);
  }
  for (const q of ['status=retired', 'status=', 'status=ACTIVE']) {
    assertProblem(await admin(`/tenants/${t.slug}/clients?${q}`), 400);
    assertProblem(await admin(`/tenants/${t.slug}/users?${q}`), 400);
  }
  assertProblem(await admin(`/tenants/${t.slug}/clients?owner=`), 400);
});

test('a tenant admin lists its own tenant only; the list of tenants is root’s', async () => {
  const adminToken = await t.accessToken(t.clients.basic, { scope: 'admin' });
  okJson(await admin(`/tenants/${t.slug}/clients`, { token: adminToken }));
  okJson(await admin(`/tenants/${t.slug}/users`, { token: adminToken }));
  assertProblem(await admin(`/tenants/${other.slug}/clients`, { token: adminToken }), 404);
  assertProblem(await admin(`/tenants/${other.slug}/users`, { token: adminToken }), 404);
  assertProblem(await admin('/tenants', { token: adminToken }), 404);
  const plain = await t.accessToken(t.clients.readonly, { scope: 'tools:read', resource: RESOURCE });
  assertProblem(await admin(`/tenants/${t.slug}/users`, { token: plain }), 403);
  assertProblem(await admin('/tenants', { token: plain }), 404);
  const none = await admin('/tenants', { token: null });
  assert.equal(none.status, 401);
});

// ---------------------------------------------------------------- the approvals page

/** The person's approvals page in ua (signed in), parsed. */
async function approvalsPage(ua) {
  const res = await ua.get(`${t.issuer}/approvals`);
  assert.equal(res.status, 200, `approvals page: ${res.status} ${pageText(res.text).slice(0, 300)}`);
  const forms = parseForms(res.text, res.url).filter((f) => /\/approvals\/consents\/[^/]+\/withdraw$/.test(f.action));
  return { res, forms, text: pageText(res.text) };
}

test('approvals page: the person sees the agents she consented to and withdraws one; nobody else’s consent moves', async () => {
  const app1 = await createCodeClient(t, { client_name: 'Calendar Agent' });
  const app2 = await createCodeClient(t, { client_name: 'Mail Agent' });
  const alice = await createUser(t);
  const bob = await createUser(t);
  const aliceUa = new UserAgent();
  const bobUa = new UserAgent();
  const a1 = await personTokens(t, app1, alice, { ua: aliceUa });
  await personTokens(t, app2, alice, { ua: aliceUa });
  await personTokens(t, app1, bob, { ua: bobUa });
  await personTokens(t, app2, bob, { ua: bobUa });

  const page = await approvalsPage(aliceUa);
  assert.match(page.text, /Calendar Agent/);
  assert.match(page.text, /Mail Agent/);
  assert.equal(page.forms.length, 2, 'a withdraw form for each consent of hers');
  for (const h of ['content-security-policy', 'x-frame-options', 'cache-control']) assert.ok(page.res.header(h), `${h} sent`);
  const form1 = page.forms.find((f) => f.action.includes(enc(app1.client_id)));
  assert.ok(form1, 'the form names the agent');
  const token = form1.input('csrf_token')?.value;
  assert.ok(token, 'the form carries csrf_token');
  const before = (await consents(t)).length;

  // without the token, with a wrong one, with bob's session token: 403, nothing changed
  for (const pairs of [[], [['csrf_token', 'x'.repeat(43)]], [['csrf_token', '']]]) {
    const res = await aliceUa.post(form1.action, pairs);
    assert.equal(res.status, 403, `withdraw with ${JSON.stringify(pairs)}: ${res.status}`);
  }
  const bobToken = (await approvalsPage(bobUa)).forms[0].input('csrf_token').value;
  assert.equal((await aliceUa.post(form1.action, [['csrf_token', bobToken]])).status, 403, 'another session’s token');
  // another person's consent: carol alone consented to app3; bob, signed in
  // with his own valid token, names it: there is no such consent of his
  const app3 = await createCodeClient(t, { client_name: 'Carol Only Agent' });
  const carol = await createUser(t);
  await personTokens(t, app3, carol);
  const before3 = (await consents(t, { client: app3.client_id })).map((c) => c.subject);
  assert.deepEqual(before3, [carol.id]);
  for (const cid of [app3.client_id, 'no-such-client', '..%2F..']) {
    const res = await bobUa.post(`${t.issuer}/approvals/consents/${cid}/withdraw`, [['csrf_token', bobToken]]);
    assert.equal(res.status, 404, `withdraw of ${cid}: ${res.status}`);
  }
  // a JSON body or a stranger without a sign-in
  const anon = await new UserAgent().post(form1.action, [['csrf_token', token]]);
  assert.ok(anon.status === 303 || anon.status === 403, `not signed in: ${anon.status}`);
  assert.deepEqual((await consents(t, { client: app3.client_id })).map((c) => c.subject), [carol.id], 'carol’s consent stays');
  assert.equal((await consents(t)).length, before + 1, 'none of that changed a consent (carol’s is new)');

  // the real withdrawal: alice's consent to app1 only
  const res = await aliceUa.submit(form1, {}, form1.buttons[0]);
  assert.ok(isRedirect(res), `withdraw answers a redirect: ${res.status} ${pageText(res.text).slice(0, 200)}`);
  assert.match(locationOf(res).href, /notice=withdrawn/);
  const left = await consents(t);
  assert.equal(left.length, before);
  assert.ok(!left.some((c) => c.subject === alice.id && c.client_id === app1.client_id), 'alice’s consent to app1 is gone');
  assert.ok(left.some((c) => c.subject === bob.id && c.client_id === app1.client_id), 'bob’s consent to the same agent stays');
  assert.ok(left.some((c) => c.subject === alice.id && c.client_id === app2.client_id), 'her other consent stays');
  // what was granted under it ends
  const intro = await introspect(t, app1, a1.tokens.access_token);
  assert.equal(intro.active, false, 'the access token granted under the consent is inactive');
  const rr = await refreshRaw(t, app1, a1.tokens.refresh_token);
  assert.equal(rr.status, 400, 'the refresh token granted under it fails');
  // the page says so, and shows one consent left
  const after = await approvalsPage(aliceUa);
  assert.equal(after.forms.length, 1);
  assert.doesNotMatch(after.text, /Calendar Agent/);
  // a replay of the same withdrawal finds nothing
  assert.equal((await aliceUa.post(form1.action, [['csrf_token', token]])).status, 404);
  // audited, as the person's
  const rows = await auditEvents(t, { event: 'consent.withdrawn', client: app1.client_id });
  assert.equal(rows.length, 1);
  assert.equal(rows[0].subject, alice.id);
  assert.equal(rows[0].details.by, 'person');
});
