// Issue 11, "Delegation bound everywhere", from the attacker's side (SPEC §4.4,
// §4.5, §5, §8): every agent token stays inside what the person approved, at
// every hop, and dies with the right it rests on.
//
// Each test is one hole found in the wave-1 trial, driven through the real
// endpoints with real client libraries (oauth4webapi for grants and
// introspection, the admin API, the approval callback, the sign-in and
// consent pages through a cookie-keeping user agent).

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { createTenant, RESOURCE, OTHER_RESOURCE } from '../lib/fixture.mjs';
import { Admin } from '../lib/admin.mjs';
import { startPeer, onPeer } from '../lib/authzd.mjs';
import { assertOAuthError, assertProblem } from '../lib/checks.mjs';
import {
  createUser,
  createCodeClient,
  personTokens,
  authorize,
  introspect,
  revoke,
  expectInactive,
  refresh,
  refreshRaw,
  consents,
  withdrawConsent,
  auditEvents,
} from '../lib/codeflow.mjs';
import {
  createAgent,
  createResourceServer,
  exchange,
  exchangeRaw,
  stPairs,
  checkExchanged,
  decode,
  GT_EXCHANGE,
  TT_ACCESS,
} from '../lib/exchange.mjs';
import {
  createApprover,
  createCibaAgent,
  approvedSession,
  bcAuthorize,
  bcParams,
  decide,
  mustDecide,
  pollTokens,
  listSessions,
  revokeSession,
} from '../lib/ciba.mjs';

const enc = encodeURIComponent;
const BOTH = 'tools:read tools:call';

let t;
let approver;
let rs; // introspects RESOURCE and OTHER_RESOURCE
let web; // a code-flow web app allowed both resources
let alice; // tools:read tools:call files:read

before(async () => {
  t = await createTenant('lin');
  approver = await createApprover(t);
  rs = await createResourceServer(t, [RESOURCE, OTHER_RESOURCE]);
  web = await createCodeClient(t, {
    client_name: 'web app (both resources)',
    allowed_scopes: ['tools:read', 'tools:call', 'files:read'],
    allowed_resources: [RESOURCE, OTHER_RESOURCE],
  });
  alice = await createUser(t, { scopes: ['tools:read', 'tools:call', 'files:read'] });
});

const actorToken = (agent) => t.accessToken(agent);

/** An exchange that must be refused with `error` (400), never a token. */
async function mustRefuse(agent, pairs, error, what) {
  const res = await exchangeRaw(t, agent, pairs);
  try {
    assertOAuthError(res, { status: 400, error });
  } catch (e) {
    e.message = `${what}: ${e.message}`;
    throw e;
  }
  return res;
}

/** The newest audit row of `event` matching `pred`. */
async function auditRow(event, pred, query = {}) {
  const rows = await auditEvents(t, { event, limit: '200', ...query });
  const row = rows.find(pred);
  assert.ok(row, `a ${event} row: ${JSON.stringify(rows.slice(0, 3))}`);
  return row;
}

/** A person's token for OTHER_RESOURCE from the web app. */
async function aliceTokenFor(resource, scope) {
  return (await personTokens(t, web, alice, { scope, resource })).tokens;
}

// ---------------------------------------------------------------- 1. resources bounded by the grant

test('leaving resource out never skips the agent’s allowed_resources: the subject’s aud is checked', async () => {
  const agent = await createAgent(t, { client_name: 'R1-only agent', can_act_for: [alice.username] });
  const other = await aliceTokenFor(OTHER_RESOURCE, 'files:read');
  assert.equal(decode(other.access_token).aud, OTHER_RESOURCE);
  await mustRefuse(agent, stPairs(other.access_token, await actorToken(agent)), 'invalid_target',
    'no resource given, the subject token is for a resource outside allowed_resources');
  await mustRefuse(agent, stPairs(other.access_token, await actorToken(agent), [['resource', OTHER_RESOURCE]]),
    'invalid_target', 'resource outside allowed_resources');
  await mustRefuse(agent, stPairs(other.access_token, await actorToken(agent), [['audience', OTHER_RESOURCE]]),
    'invalid_target', 'audience outside allowed_resources');
  const row = await auditRow('token.exchanged', (r) => r.outcome === 'failure' && r.client_id === agent.client_id);
  assert.equal(row.details.grant_type, GT_EXCHANGE, `details.grant_type is the wire value: ${JSON.stringify(row)}`);
});

test('impersonation is bounded the same way: allowed_resources holds without an actor token', async () => {
  const imp = await createAgent(t, { client_name: 'impersonator (R1 only)', may_impersonate: true });
  const other = await aliceTokenFor(OTHER_RESOURCE, 'files:read');
  await mustRefuse(imp, stPairs(other.access_token, null), 'invalid_target',
    'impersonation with no resource, subject token for a resource outside allowed_resources');
  const mine = await aliceTokenFor(RESOURCE, BOTH);
  const ok = await exchange(t, imp, { subject_token: mine.access_token, subject_token_type: TT_ACCESS });
  const c = await checkExchanged(t, ok, { audience: RESOURCE });
  assert.equal(c.act, undefined, 'impersonation: no act');
  // turning may_impersonate off ends the impersonation tokens it holds
  const p = await t.admin.call('PATCH', `/tenants/${enc(t.slug)}/clients/${enc(imp.client_id)}`, { may_impersonate: false });
  assert.equal(p.status, 200, p.describe());
  await expectInactive(t, rs, ok.access_token, 'an impersonation token after may_impersonate was turned off');
});

test('a session approved for R1 is never exchanged into a token for R2; a token for R1 carries the session', async () => {
  const agent = await createCibaAgent(t, {
    client_name: 'session agent (both resources allowed)',
    allowed_scopes: ['tools:read', 'tools:call', 'files:read'],
    allowed_resources: [RESOURCE, OTHER_RESOURCE],
  });
  const s = await approvedSession(t, agent, alice, approver, { scope: 'tools:read', resource: RESOURCE });
  const other = await aliceTokenFor(OTHER_RESOURCE, 'files:read');
  await mustRefuse(agent, stPairs(other.access_token, await actorToken(agent)), 'invalid_target',
    'a session for R1, subject token for R2, no resource given');
  await mustRefuse(agent, stPairs(other.access_token, await actorToken(agent), [['resource', OTHER_RESOURCE]]),
    'invalid_target', 'a session for R1, resource=R2');
  // and with the session's own token as subject
  await mustRefuse(agent, stPairs(s.tokens.access_token, await actorToken(agent), [['resource', OTHER_RESOURCE]]),
    'invalid_target', 'the session token exchanged for R2');
  const mine = await aliceTokenFor(RESOURCE, BOTH);
  const body = await exchange(t, agent, {
    subject_token: mine.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agent), actor_token_type: TT_ACCESS,
  });
  const c = await checkExchanged(t, body, { audience: RESOURCE });
  assert.equal(c.scope, 'tools:read', 'within the session scopes');
  assert.equal(c.sid, s.sid, 'carries the session');
});

test('a consent given for R1 is never exchanged into a token for R2', async () => {
  const agent = await createCodeClient(t, {
    client_name: 'consented agent (both resources allowed)',
    grant_types: ['authorization_code', 'client_credentials', GT_EXCHANGE],
    allowed_scopes: ['tools:read', 'tools:call', 'files:read'],
    allowed_resources: [RESOURCE, OTHER_RESOURCE],
  });
  await personTokens(t, agent, alice, { scope: 'tools:read', resource: RESOURCE });
  const other = await aliceTokenFor(OTHER_RESOURCE, 'files:read');
  await mustRefuse(agent, stPairs(other.access_token, await actorToken(agent)), 'invalid_target',
    'a consent for R1, subject for R2, no resource');
  await mustRefuse(agent, stPairs(other.access_token, await actorToken(agent), [['resource', OTHER_RESOURCE]]),
    'invalid_target', 'a consent for R1, resource=R2');
  await mustRefuse(agent, stPairs(other.access_token, await actorToken(agent), [['resource', OTHER_RESOURCE], ['resource', RESOURCE]]),
    'invalid_target', 'two different resources at once');
});

test('the grant that allowed a hop is the ceiling of every later hop', async () => {
  // hop 1: agent A under a session for R1; hop 2: agent B may act for alice anywhere
  const agentA = await createCibaAgent(t, { client_name: 'hop-1 agent', allowed_resources: [RESOURCE, OTHER_RESOURCE],
    allowed_scopes: ['tools:read', 'tools:call', 'files:read'] });
  const agentB = await createAgent(t, { client_name: 'hop-2 agent', can_act_for: ['*'],
    allowed_scopes: ['tools:read', 'tools:call', 'files:read'], allowed_resources: [RESOURCE, OTHER_RESOURCE] });
  const s = await approvedSession(t, agentA, alice, approver, { scope: 'tools:read', resource: RESOURCE });
  const hop1 = await exchange(t, agentA, {
    subject_token: s.tokens.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentA), actor_token_type: TT_ACCESS, resource: RESOURCE,
  });
  await mustRefuse(agentB, stPairs(hop1.access_token, await actorToken(agentB), [['resource', OTHER_RESOURCE]]),
    'invalid_target', 'hop 2 asks for a resource outside the session that allowed hop 1');
  const hop2 = await exchange(t, agentB, {
    subject_token: hop1.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentB), actor_token_type: TT_ACCESS, scope: BOTH,
  });
  const c2 = await checkExchanged(t, hop2, { audience: RESOURCE });
  assert.equal(c2.scope, 'tools:read', 'hop 2 stays inside hop 1’s scope');
  assert.ok(c2.exp <= decode(hop1.access_token).exp, 'hop 2 lives no longer than hop 1');
  assert.deepEqual([c2.act.sub, c2.act.act.sub], [agentB.client_id, agentA.client_id]);

  // revoking any ancestor ends every descendant
  await revoke(t, agentA, hop1.access_token);
  await expectInactive(t, rs, hop2.access_token, 'hop 2 after hop 1 was revoked');
  // and the session's end reaches through both hops
  const hop1b = await exchange(t, agentA, {
    subject_token: s.tokens.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentA), actor_token_type: TT_ACCESS, resource: RESOURCE,
  });
  const hop2b = await exchange(t, agentB, {
    subject_token: hop1b.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentB), actor_token_type: TT_ACCESS,
  });
  await revokeSession(t, s.sid);
  await expectInactive(t, rs, hop1b.access_token, 'hop 1 after the session ended');
  await expectInactive(t, rs, hop2b.access_token, 'hop 2 after the session two hops up ended');
});

// ---------------------------------------------------------------- 2. lineage followed

test('withdrawing a consent ends the tokens exchanged under it; consenting again gives a new right', async () => {
  const agent = await createCodeClient(t, {
    client_name: 'agent with a consent',
    grant_types: ['authorization_code', 'client_credentials', GT_EXCHANGE],
  });
  await personTokens(t, agent, alice, { scope: BOTH, resource: RESOURCE });
  const mine = await aliceTokenFor(RESOURCE, BOTH);
  const xt = await exchange(t, agent, {
    subject_token: mine.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agent), actor_token_type: TT_ACCESS,
  });
  assert.equal((await introspect(t, rs, xt.access_token)).active, true);
  const del = await withdrawConsent(t, { user: alice.id, client: agent.client_id });
  assert.equal(del.status, 200, del.describe());
  await expectInactive(t, rs, xt.access_token, 'exchanged token after the consent was withdrawn');
  await mustRefuse(agent, stPairs(mine.access_token, await actorToken(agent)), 'invalid_request',
    'exchange after the consent was withdrawn');
  // a new consent is a new right: exchanges work again, the old token stays dead
  await personTokens(t, agent, alice, { scope: BOTH, resource: RESOURCE });
  const again = await exchange(t, agent, {
    subject_token: mine.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agent), actor_token_type: TT_ACCESS,
  });
  assert.equal((await introspect(t, rs, again.access_token)).active, true, 'the new consent’s token is active');
  assert.equal((await introspect(t, rs, xt.access_token)).active, false, 'the old one stays inactive');
});

test('deleting a person ends her access tokens at introspection, her refresh tokens and what was exchanged from them', async () => {
  const bob = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const { tokens } = await personTokens(t, web, bob, { scope: BOTH, resource: RESOURCE });
  const agent = await createAgent(t, { client_name: 'acts for bob', can_act_for: [bob.username] });
  const xt = await exchange(t, agent, {
    subject_token: tokens.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agent), actor_token_type: TT_ACCESS,
  });
  const del = await t.admin.call('DELETE', `/tenants/${enc(t.slug)}/users/${enc(bob.username)}`);
  assert.equal(del.status, 204, del.describe());
  await expectInactive(t, rs, tokens.access_token, 'a deleted person’s access token');
  await expectInactive(t, rs, xt.access_token, 'a token exchanged from a deleted person’s token');
  assertOAuthError(await refreshRaw(t, web, tokens.refresh_token), { status: 400, error: 'invalid_grant' });
  // a new person with the same username is someone else
  const bob2 = await createUser(t, { username: bob.username, scopes: ['tools:read'] });
  assert.notEqual(bob2.id, bob.id);
  assert.equal((await introspect(t, rs, tokens.access_token)).active, false, 'still inactive');
});

test('a deleted admin client’s admin token no longer administers the tenant', async () => {
  const adm = await createAgent(t, { client_name: 'admin client', allowed_scopes: ['admin'], allowed_resources: [] });
  const tok = await t.accessToken(adm, { scope: 'admin' });
  const base = `/tenants/${enc(t.slug)}`;
  const me = await new Admin(tok).call('GET', base);
  assert.equal(me.status, 200, `the admin token works first\n  ${me.describe()}`);
  const del = await t.admin.call('DELETE', `${base}/clients/${enc(adm.client_id)}`);
  assert.equal(del.status, 204, del.describe());
  const after = await new Admin(tok).call('GET', base);
  assertProblem(after, 401);
  const create = await new Admin(tok).call('POST', `${base}/clients`, {
    client_name: 'backdoor', grant_types: ['client_credentials'], allowed_scopes: ['admin'],
  });
  assertProblem(create, 401);
  const list = await t.admin.call('GET', `${base}/clients`);
  assert.ok(!JSON.stringify(list.json).includes('backdoor'), 'no client was created');
});

test('removing admin from a client’s allowed_scopes ends its admin tokens', async () => {
  const adm = await createAgent(t, { client_name: 'admin client 2', allowed_scopes: ['admin', 'tools:read'] });
  const tok = await t.accessToken(adm, { scope: 'admin' });
  const base = `/tenants/${enc(t.slug)}`;
  assert.equal((await new Admin(tok).call('GET', base)).status, 200);
  const p = await t.admin.call('PATCH', `${base}/clients/${enc(adm.client_id)}`, { allowed_scopes: ['tools:read'] });
  assert.equal(p.status, 200, p.describe());
  assertProblem(await new Admin(tok).call('GET', base), 401);
  // giving admin back gives new tokens, not the old one
  const p2 = await t.admin.call('PATCH', `${base}/clients/${enc(adm.client_id)}`, { allowed_scopes: ['tools:read', 'admin'] });
  assert.equal(p2.status, 200, p2.describe());
  const fresh = await t.accessToken(adm, { scope: 'admin' });
  assert.equal((await new Admin(fresh).call('GET', base)).status, 200, 'a token issued after admin came back works');
  assertProblem(await new Admin(tok).call('GET', base), 401);
});

test('removing the person from can_act_for ends what the agent exchanged under it; adding her again gives a new right', async () => {
  const agent = await createAgent(t, { client_name: 'can_act_for agent', can_act_for: [alice.username] });
  const mine = await aliceTokenFor(RESOURCE, BOTH);
  const xt = await exchange(t, agent, {
    subject_token: mine.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agent), actor_token_type: TT_ACCESS,
  });
  const path = `/tenants/${enc(t.slug)}/clients/${enc(agent.client_id)}`;
  assert.equal((await t.admin.call('PATCH', path, { can_act_for: [] })).status, 200);
  await expectInactive(t, rs, xt.access_token, 'a token exchanged under can_act_for after the entry was removed');
  await mustRefuse(agent, stPairs(mine.access_token, await actorToken(agent)), 'invalid_request',
    'an exchange after can_act_for no longer names the person');
  assert.equal((await t.admin.call('PATCH', path, { can_act_for: [alice.username] })).status, 200);
  const again = await exchange(t, agent, {
    subject_token: mine.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agent), actor_token_type: TT_ACCESS,
  });
  assert.equal((await introspect(t, rs, again.access_token)).active, true, 'the new token is active');
  assert.equal((await introspect(t, rs, xt.access_token)).active, false, 'the old one stays inactive');
});

test('a password change ends the person’s browser sign-ins', async () => {
  const carol = await createUser(t, { scopes: ['tools:read'] });
  const first = await authorize(t, web, carol, { scope: 'tools:read' });
  // signed in and consented: the same browser goes straight back to the app
  const again = await authorize(t, web, carol, { scope: 'tools:read', ua: first.ua, stopAt: 'login' });
  assert.equal(again.result.kind, 'callback', 'the sign-in is remembered before the password change');
  const p = await t.admin.call('PATCH', `/tenants/${enc(t.slug)}/users/${enc(carol.username)}`, {
    password: 'a brand new password 42',
  });
  assert.equal(p.status, 200, p.describe());
  const after = await authorize(t, web, carol, { scope: 'tools:read', ua: first.ua, stopAt: 'login' });
  assert.equal(after.result.kind, 'stopped', 'after the password change the browser must sign in again');
});

test('narrowing a person’s scopes ends the wider tokens she holds; a refresh issues the narrower scope', async () => {
  const dave = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const { tokens } = await personTokens(t, web, dave, { scope: BOTH, resource: RESOURCE });
  const p = await t.admin.call('PATCH', `/tenants/${enc(t.slug)}/users/${enc(dave.username)}`, { scopes: ['tools:read'] });
  assert.equal(p.status, 200, p.describe());
  await expectInactive(t, rs, tokens.access_token, 'a tools:call token after the person lost tools:call');
  const r = await refresh(t, web, tokens.refresh_token);
  assert.equal(decode(r.access_token).scope, 'tools:read', 'the refreshed token carries only what she holds');
  assert.equal((await introspect(t, rs, r.access_token)).active, true);
});

// ---------------------------------------------------------------- 3. a session approval ends with the session

test('approving a session records no standing consent: after the session is revoked the agent cannot exchange her other tokens', async () => {
  const agent = await createCibaAgent(t, { client_name: 'session-only agent' });
  const s = await approvedSession(t, agent, alice, approver, { scope: BOTH });
  assert.equal((await consents(t, { user: alice.id, client: agent.client_id })).length, 0, 'no consent recorded');
  const mine = await aliceTokenFor(RESOURCE, BOTH);
  const xt = await exchange(t, agent, {
    subject_token: mine.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agent), actor_token_type: TT_ACCESS,
  });
  assert.equal(decode(xt.access_token).sid, s.sid, 'exchanged under the session: carries its sid');
  await revokeSession(t, s.sid);
  await expectInactive(t, rs, xt.access_token, 'exchanged token after the session was revoked');
  await expectInactive(t, rs, s.tokens.access_token, 'the session’s own token');
  await mustRefuse(agent, stPairs(mine.access_token, await actorToken(agent)), 'invalid_request',
    'exchanging her other token after the session ended');
  assertOAuthError(await refreshRaw(t, agent, s.tokens.refresh_token), { status: 400, error: 'invalid_grant' });
});

// ---------------------------------------------------------------- 4. the page and the record agree

test('a session approval records only the scopes the person holds; a scope given later is never issued under it', async () => {
  const erin = await createUser(t, { scopes: ['tools:read'] });
  const agent = await createCibaAgent(t, { client_name: 'asks for more than erin holds' });
  const req = await bcAuthorize(t, agent, bcParams(erin, { scope: BOTH }));
  await mustDecide(t, await approver.token(), req.auth_req_id, 'approve', erin.username);
  const tokens = await pollTokens(t, agent, req.auth_req_id);
  assert.equal(decode(tokens.access_token).scope, 'tools:read');
  const session = (await listSessions(t, { user: erin.id })).find((x) => x.auth_req_id === req.auth_req_id);
  assert.equal(session.scope, 'tools:read', `the session records what erin could approve: ${JSON.stringify(session)}`);
  const approved = await auditRow('session.approved', (r) => r.session_id === session.sid);
  assert.equal(approved.scope, 'tools:read', JSON.stringify(approved));

  // the admin later gives erin tools:call: nothing under the session widens
  const p = await t.admin.call('PATCH', `/tenants/${enc(t.slug)}/users/${enc(erin.username)}`, { scopes: ['tools:read', 'tools:call'] });
  assert.equal(p.status, 200);
  const r = await refresh(t, agent, tokens.refresh_token);
  assert.equal(decode(r.access_token).scope, 'tools:read', 'a refresh stays inside the approval');
  const web2 = (await personTokens(t, web, erin, { scope: BOTH, resource: RESOURCE })).tokens;
  await mustRefuse(agent, stPairs(web2.access_token, await actorToken(agent), [['scope', 'tools:call']]),
    'invalid_scope', 'exchanging for a scope the person never approved for this agent');
  const xt = await exchange(t, agent, {
    subject_token: web2.access_token, subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agent), actor_token_type: TT_ACCESS,
  });
  assert.equal(decode(xt.access_token).scope, 'tools:read');
});

test('a request whose scopes the person holds none of cannot be approved (409), only denied', async () => {
  const frank = await createUser(t, { scopes: ['files:read'] });
  const agent = await createCibaAgent(t, { client_name: 'asks frank for tools' });
  const req = await bcAuthorize(t, agent, bcParams(frank, { scope: 'tools:read' }));
  const res = await decide(t, await approver.token(), req.auth_req_id,
    { decision: 'approve', approver: frank.username });
  assert.equal(res.status, 409, res.describe());
  const pending = (await listSessions(t, { user: frank.id })).find((x) => x.auth_req_id === req.auth_req_id);
  assert.equal(pending.state, 'pending', 'nothing was recorded');
});

// ---------------------------------------------------------------- 8. the contract as an outside client sees it

test('a session has its sid from the request on: pending, denied and expired rows list it; session.requested carries it', async () => {
  const agent = await createCibaAgent(t, { client_name: 'sid agent' });
  const pendingReq = await bcAuthorize(t, agent, bcParams(alice, { scope: 'tools:read' }));
  const deniedReq = await bcAuthorize(t, agent, bcParams(alice, { scope: 'tools:read' }));
  await mustDecide(t, await approver.token(), deniedReq.auth_req_id, 'deny', alice.username);
  const expiredReq = await bcAuthorize(t, agent, bcParams(alice, { scope: 'tools:read', requested_expiry: '1' }));
  await new Promise((r) => setTimeout(r, 1500));
  const rows = await listSessions(t, { user: alice.id, client: agent.client_id });
  const by = (id) => rows.find((x) => x.auth_req_id === id);
  for (const [what, req, state] of [['pending', pendingReq, 'pending'], ['denied', deniedReq, 'denied'], ['expired', expiredReq, 'expired']]) {
    const row = by(req.auth_req_id);
    assert.equal(row?.state, state, `${what}: ${JSON.stringify(row)}`);
    assert.equal(typeof row.sid, 'string', `${what} request lists its sid: ${JSON.stringify(row)}`);
    assert.ok(row.sid.length >= 16);
    const requested = await auditRow('session.requested', (r) => r.details?.auth_req_id === req.auth_req_id);
    assert.equal(requested.session_id, row.sid, `session.requested carries session_id: ${JSON.stringify(requested)}`);
  }
  const denied = await auditRow('session.denied', (r) => r.details?.auth_req_id === deniedReq.auth_req_id);
  assert.equal(denied.session_id, by(deniedReq.auth_req_id).sid);
  // approving keeps the sid the request had
  await mustDecide(t, await approver.token(), pendingReq.auth_req_id, 'approve', alice.username);
  const tokens = await pollTokens(t, agent, pendingReq.auth_req_id);
  assert.equal(jose.decodeJwt(tokens.access_token).sid, by(pendingReq.auth_req_id).sid, 'the session keeps its sid');
});

// ---------------------------------------------------------------- every authzd within one second

// SPEC §4.4: withdrawing the consent, removing the person from can_act_for,
// or deleting anything a token derives from "makes it inactive within one
// second on every authzd"
test('lineage revocations reach a second authzd on the same database within one second', async () => {
  const peer = await startPeer('lineage-peer');
  try {
    const atPeer = { ...t, as: { ...t.as, introspection_endpoint: onPeer(peer, t.as.introspection_endpoint) } };
    const gina = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
    const { tokens } = await personTokens(t, web, gina, { scope: BOTH, resource: RESOURCE });
    const viaCaf = await createAgent(t, { client_name: 'peer caf agent', can_act_for: [gina.username] });
    const viaConsent = await createCodeClient(t, {
      client_name: 'peer consent agent',
      grant_types: ['authorization_code', 'client_credentials', GT_EXCHANGE],
    });
    await personTokens(t, viaConsent, gina, { scope: BOTH, resource: RESOURCE });
    const xchg = async (agent) =>
      (await exchange(t, agent, {
        subject_token: tokens.access_token, subject_token_type: TT_ACCESS,
        actor_token: await actorToken(agent), actor_token_type: TT_ACCESS,
      })).access_token;
    const cafTok = await xchg(viaCaf);
    const consentTok = await xchg(viaConsent);
    for (const tok of [tokens.access_token, cafTok, consentTok])
      assert.equal((await introspect(atPeer, rs, tok)).active, true, 'active at the peer first');

    assert.equal((await t.admin.call('PATCH', `/tenants/${enc(t.slug)}/clients/${enc(viaCaf.client_id)}`, { can_act_for: [] })).status, 200);
    await expectInactive(atPeer, rs, cafTok, 'at the peer: can_act_for entry removed', 1000);
    assert.equal((await withdrawConsent(t, { user: gina.id, client: viaConsent.client_id })).status, 200);
    await expectInactive(atPeer, rs, consentTok, 'at the peer: consent withdrawn', 1000);
    assert.equal((await t.admin.call('DELETE', `/tenants/${enc(t.slug)}/users/${enc(gina.username)}`)).status, 204);
    await expectInactive(atPeer, rs, tokens.access_token, 'at the peer: person deleted', 1000);
  } finally {
    const { code } = await peer.stop();
    assert.equal(code, 0, `the second authzd exits 0 on SIGTERM; log:\n${peer.log().slice(-2000)}`);
  }
});
