// Issue 4: RFC 8693 token exchange, authz's blended identity (SPEC §4.4, §5,
// §6, §8). oauth4webapi's generic token endpoint request performs every
// exchange that should succeed; raw forms carry the ones that must be
// refused; jose verifies every issued token against the tenant's JWKS.
//
// The people's tokens come from sessions approved through the approval
// callback (SPEC §4.5) and from a code flow (lib/codeflow.mjs); the agents'
// actor tokens are their own client_credentials tokens.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, createHmac, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { createTenant, RESOURCE, OTHER_RESOURCE } from '../lib/fixture.mjs';
import { assertOAuthError, assertHealthy, audList, scopeSet } from '../lib/checks.mjs';
import { get, postForm } from '../lib/http.mjs';
import {
  createUser,
  createCodeClient,
  personTokens,
  introspect,
  revoke,
  expectInactive,
  refreshRaw,
  auditEvents,
  withdrawConsent,
  consents,
} from '../lib/codeflow.mjs';
import {
  createAgent,
  createResourceServer,
  exchange,
  exchangeRaw,
  stPairs,
  checkExchanged,
  actChain,
  decode,
  GT_EXCHANGE,
  TT_ACCESS,
  TT_JWT,
  TT_REFRESH,
  TT_ID,
} from '../lib/exchange.mjs';
import {
  createApprover,
  createCibaAgent,
  approvedSession,
  revokeSession,
  cibaWorld,
} from '../lib/ciba.mjs';

const BOTH = 'tools:read tools:call';

let t; // the tenant of this file
let approver; // the external approval system (approvals:decide)
let agentA; // CIBA agent: holds the people's sessions, and exchanges them
let agentB; // a second agent, can_act_for alice and reader
let rs; // the MCP server: introspects RESOURCE
let alice; // tools:read tools:call
let reader; // tools:read only
let aliceSession; // alice's session for agentA (approved by callback)

before(async () => {
  t = await createTenant('xch');
  approver = await createApprover(t);
  alice = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  reader = await createUser(t, { scopes: ['tools:read'] });
  agentA = await createCibaAgent(t, { client_name: 'agent A (holds the session)' });
  agentB = await createAgent(t, { client_name: 'agent B', can_act_for: [alice.username, reader.username] });
  rs = await createResourceServer(t, [RESOURCE]);
  aliceSession = await approvedSession(t, agentA, alice, approver, { scope: BOTH, session_ttl: '900' });
});

/** An agent's own actor token (client_credentials, no resource: aud = issuer). */
const actorToken = (agent) => t.accessToken(agent);

/** The audit row a response left (matched by its X-Request-Id), read right after the answer. */
async function auditRowOf(res, event = 'token.exchanged', tenant = t) {
  const reqId = res.header('x-request-id');
  assert.ok(reqId, `the answer carries X-Request-Id (SPEC §9)\n  ${res.describe()}`);
  const rows = await auditEvents(tenant, { event, limit: '200' });
  const row = rows.find((r) => r.request_id === reqId);
  assert.ok(row, `a ${event} audit row with request_id ${reqId} exists right after the answer (SPEC §8); ` +
    `newest ${event} rows: ${JSON.stringify(rows.slice(0, 3))}`);
  return row;
}

/** The newest token.exchanged success row for `client` whose details name the token's jti (or the newest). */
async function exchangedRow(client, claims) {
  const rows = await auditEvents(t, { event: 'token.exchanged', client: client.client_id, limit: '50' });
  const ok = rows.filter((r) => r.outcome === 'success');
  assert.ok(ok.length >= 1, `a token.exchanged success row for ${client.client_id}: ${JSON.stringify(rows.slice(0, 3))}`);
  return ok.find((r) => r.details?.jti === claims.jti) ?? ok[0];
}

/** RFC 8693 §2.2.2 refusal: 400 with `error`, no token, never 5xx, a failure audit row. */
async function refused(res, error, what, { status = 400, audit = true } = {}) {
  try {
    assertOAuthError(res, { status, error });
  } catch (e) {
    e.message = `${what}: ${e.message}`;
    throw e;
  }
  if (audit) {
    let row;
    try {
      row = await auditRowOf(res);
    } catch (e) {
      e.message = `${what}: ${e.message}\n  ${res.describe()}`;
      throw e;
    }
    assert.equal(row.outcome, 'failure', `${what}: the token.exchanged row is a failure: ${JSON.stringify(row)}`);
  }
}

// ---------------------------------------------------------------- the blended token

// RFC 8693 §4.1: "The act (actor) claim provides a means within a JWT to
// express that delegation has occurred and identify the acting party to whom
// authority has been delegated."
test('a person token (session approved by callback) + the agent’s client_credentials token -> sub = person, act.sub = agent', async () => {
  const subject = aliceSession.tokens.access_token;
  const sclaims = aliceSession.claims;
  assert.equal(sclaims.sub, alice.id, `the session token is about alice: ${JSON.stringify(sclaims)}`);
  const body = await exchange(t, agentA, {
    subject_token: subject,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentA),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
    scope: BOTH,
  });
  const c = await checkExchanged(t, body, { audience: RESOURCE });
  const claims = JSON.stringify(c);
  assert.equal(c.sub, alice.id, `sub stays the person: ${claims}`);
  assert.equal(c.client_id, agentA.client_id, `client_id is the calling agent: ${claims}`);
  assert.deepEqual(c.act, { sub: agentA.client_id }, `act names the agent, nothing nested: ${claims}`);
  assert.deepEqual(audList(c.aud), [RESOURCE], `aud is the resource: ${claims}`);
  assert.deepEqual([...scopeSet(c.scope)].sort(), ['tools:call', 'tools:read'], `scope: ${claims}`);
  assert.equal(c.sid, aliceSession.sid, `an exchanged token of a session carries its sid (SPEC §4.5): ${claims}`);
  assert.ok(c.exp <= sclaims.exp, `exp ${c.exp} ≤ the subject token's exp ${sclaims.exp} (SPEC §4.4): ${claims}`);
  assert.notEqual(c.jti, sclaims.jti, 'a new jti');

  // SPEC §8: the exchange row carries the actor chain (current actor first),
  // the person and the policy that allowed it.
  const row = await exchangedRow(agentA, c);
  assert.equal(row.outcome, 'success');
  assert.equal(row.subject, alice.id, `audit subject is the person: ${JSON.stringify(row)}`);
  assert.equal(row.client_id, agentA.client_id, `audit client_id is the agent: ${JSON.stringify(row)}`);
  assert.deepEqual(row.actor_chain, [agentA.client_id], `audit actor_chain: ${JSON.stringify(row)}`);
  assert.equal(row.session_id, aliceSession.sid, `audit session_id: ${JSON.stringify(row)}`);
  assert.equal(typeof row.details?.policy, 'string', `details.policy names the rule that decided: ${JSON.stringify(row)}`);
  assert.ok(row.details.policy.length > 0, `details.policy is not empty: ${JSON.stringify(row)}`);
  assert.equal(row.details.impersonation, false, `details.impersonation false: ${JSON.stringify(row)}`);
});

test('a person token from a code flow + a can_act_for agent -> act.sub = agent; no refresh token', async () => {
  const web = await createCodeClient(t, { client_name: 'web app' });
  const { tokens } = await personTokens(t, web, alice, { scope: BOTH, resource: RESOURCE });
  const body = await exchange(t, agentB, {
    subject_token: tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentB),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  const c = await checkExchanged(t, body, { audience: RESOURCE });
  assert.equal(c.sub, alice.id);
  assert.equal(c.client_id, agentB.client_id);
  assert.deepEqual(c.act, { sub: agentB.client_id }, JSON.stringify(c));
  // "Scope of the result = requested (default: all of the subject's) ∩ …"
  assert.deepEqual([...scopeSet(c.scope)].sort(), ['tools:call', 'tools:read'], `default scope is the subject's: ${JSON.stringify(c)}`);
  const row = await exchangedRow(agentB, c);
  assert.equal(row.details.policy, 'can_act_for', `details.policy names can_act_for: ${JSON.stringify(row)}`);
});

// RFC 8693 §4.1: "A chain of delegation can be expressed by nesting one act
// claim within another. The outermost act claim represents the current actor
// while nested act claims represent prior actors."
test('a second agent exchanging the result nests the first: act = {sub: B, act: {sub: A}}; audit actor_chain [B, A]', async () => {
  const first = await exchange(t, agentA, {
    subject_token: aliceSession.tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentA),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  const c1 = await checkExchanged(t, first, { audience: RESOURCE });
  const second = await exchange(t, agentB, {
    subject_token: first.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentB),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  const c2 = await checkExchanged(t, second, { audience: RESOURCE, what: 'second exchange' });
  const claims = JSON.stringify(c2);
  assert.equal(c2.sub, alice.id, `sub is still the person: ${claims}`);
  assert.equal(c2.client_id, agentB.client_id, `client_id is the current agent: ${claims}`);
  assert.deepEqual(c2.act, { sub: agentB.client_id, act: { sub: agentA.client_id } }, `nested act: ${claims}`);
  assert.equal(c2.sid, aliceSession.sid, `the session id carries through the chain: ${claims}`);
  assert.ok(c2.exp <= c1.exp, `exp ${c2.exp} ≤ the subject's exp ${c1.exp}`);

  const row = await exchangedRow(agentB, c2);
  assert.deepEqual(row.actor_chain, [agentB.client_id, agentA.client_id], `actor_chain, current actor first: ${JSON.stringify(row)}`);
  assert.equal(row.subject, alice.id);
  assert.equal(typeof row.details.policy, 'string', JSON.stringify(row));

  // SPEC §5: introspection by a resource server (introspects RESOURCE) shows act.
  const i = await introspect(t, rs, second.access_token);
  const shown = JSON.stringify(i);
  assert.equal(i.active, true, `the resource server sees the token active: ${shown}`);
  assert.equal(i.sub, alice.id, shown);
  assert.equal(i.client_id, agentB.client_id, shown);
  assert.deepEqual(i.act, { sub: agentB.client_id, act: { sub: agentA.client_id } }, `introspection shows the whole act: ${shown}`);
  assert.equal(i.sid, aliceSession.sid, `introspection shows sid: ${shown}`);
  assert.equal(String(i.token_type).toLowerCase(), 'bearer', shown);
  assert.deepEqual([...scopeSet(i.scope)].sort(), [...scopeSet(c2.scope)].sort(), shown);

  // …and a client that neither holds the token nor serves its audience learns nothing.
  const other = await createAgent(t, { client_name: 'bystander' });
  const j = await introspect(t, other, second.access_token);
  assert.deepEqual(j, { active: false }, `a bystander client gets only {"active": false}: ${JSON.stringify(j)}`);
});

test('a chain of five agents is accepted; a sixth (deeper than 5) is invalid_request', async () => {
  const agents = [];
  for (let i = 1; i <= 6; i++) agents.push(await createAgent(t, { client_name: `chain agent ${i}`, can_act_for: ['*'] }));
  let subject = aliceSession.tokens.access_token;
  for (let i = 0; i < 5; i++) {
    const body = await exchange(t, agents[i], {
      subject_token: subject,
      subject_token_type: TT_ACCESS,
      actor_token: await actorToken(agents[i]),
      actor_token_type: TT_ACCESS,
      resource: RESOURCE,
    });
    const c = await checkExchanged(t, body, { audience: RESOURCE, what: `exchange ${i + 1}` });
    assert.deepEqual(
      actChain(c.act),
      agents.slice(0, i + 1).map((a) => a.client_id).reverse(),
      `act chain after exchange ${i + 1}: ${JSON.stringify(c.act)}`,
    );
    subject = body.access_token;
  }
  const res = await exchangeRaw(t, agents[5], stPairs(subject, await actorToken(agents[5]), [['resource', RESOURCE]]));
  await refused(res, 'invalid_request', 'a sixth actor (chain deeper than 5)');
});

// ---------------------------------------------------------------- scope never widens

test('a read-only person stays read-only through two agents, even when tools:call is requested', async () => {
  const s = await approvedSession(t, agentA, reader, approver, { scope: BOTH });
  const s0 = scopeSet(s.claims.scope);
  assert.ok(!s0.has('tools:call'), `the read-only person's session token cannot carry tools:call: ${JSON.stringify(s.claims)}`);

  const first = await exchange(t, agentA, {
    subject_token: s.tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentA),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
    scope: BOTH,
  });
  const c1 = await checkExchanged(t, first, { audience: RESOURCE });
  assert.equal(c1.scope, 'tools:read', `first agent: read-only: ${JSON.stringify(c1)}`);
  assert.equal(first.scope, 'tools:read', 'the response scope says so too (RFC 8693 §2.2.1)');

  const second = await exchange(t, agentB, {
    subject_token: first.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentB),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
    scope: BOTH,
  });
  const c2 = await checkExchanged(t, second, { audience: RESOURCE });
  assert.equal(c2.scope, 'tools:read', `second agent (can_act_for the reader): still read-only: ${JSON.stringify(c2)}`);

  // Nothing left: asking only for tools:call is invalid_scope.
  const res = await exchangeRaw(
    t,
    agentB,
    stPairs(first.access_token, await actorToken(agentB), [['resource', RESOURCE], ['scope', 'tools:call']]),
  );
  await refused(res, 'invalid_scope', 'tools:call for a read-only person');
});

test('an agent whose allowed_scopes is tools:read gets at most tools:read from a person who has both', async () => {
  const narrow = await createAgent(t, { client_name: 'narrow agent', allowed_scopes: ['tools:read'], can_act_for: [alice.username] });
  const body = await exchange(t, narrow, {
    subject_token: aliceSession.tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(narrow),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
    scope: BOTH,
  });
  const c = await checkExchanged(t, body, { audience: RESOURCE });
  assert.equal(c.scope, 'tools:read', JSON.stringify(c));
});

test('scope, resource and audience outside what is registered: invalid_scope / invalid_target', async () => {
  const actor = await actorToken(agentB);
  const subject = aliceSession.tokens.access_token;
  await refused(
    await exchangeRaw(t, agentB, stPairs(subject, actor, [['resource', RESOURCE], ['scope', 'files:read']])),
    'invalid_scope',
    'a scope the subject does not hold',
  );
  await refused(
    await exchangeRaw(t, agentB, stPairs(subject, actor, [['resource', 'https://unknown.example.test/mcp']])),
    'invalid_target',
    'an unknown resource',
  );
  await refused(
    await exchangeRaw(t, agentB, stPairs(subject, actor, [['audience', 'https://unknown.example.test/mcp']])),
    'invalid_target',
    'an unknown audience',
  );
  await refused(
    await exchangeRaw(t, agentB, stPairs(subject, actor, [['resource', OTHER_RESOURCE]])),
    'invalid_target',
    'a registered resource the agent may not use',
  );
  // audience naming a registered resource works like resource
  const ok = await exchange(t, agentB, {
    subject_token: subject,
    subject_token_type: TT_ACCESS,
    actor_token: actor,
    actor_token_type: TT_ACCESS,
    audience: RESOURCE,
    scope: 'tools:read',
  });
  const c = await checkExchanged(t, ok, { audience: RESOURCE, what: 'audience=RESOURCE' });
  assert.equal(c.scope, 'tools:read');
});

// SPEC §4.5: approving a session "lets that agent act for the person by token
// exchange ... until the session ends, within the session's scopes and
// resources: tokens exchanged under that right carry the session's sid. It
// records no standing consent: when the session ends, the right ends with it."
test('a session approved read-only bounds the agent’s exchanges; they carry its sid and end with it', async () => {
  const agentC = await createCibaAgent(t, { client_name: 'agent C (read-only session)' });
  const session = await approvedSession(t, agentC, alice, approver, { scope: 'tools:read' });
  const web = await createCodeClient(t, { client_name: 'web app 2' });
  const { tokens } = await personTokens(t, web, alice, { scope: BOTH, resource: RESOURCE });
  assert.deepEqual([...scopeSet(decode(tokens.access_token).scope)].sort(), ['tools:call', 'tools:read']);
  const body = await exchange(t, agentC, {
    subject_token: tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentC),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
    scope: BOTH,
  });
  const c = await checkExchanged(t, body, { audience: RESOURCE });
  assert.equal(c.scope, 'tools:read', `the session (tools:read) bounds the result: ${JSON.stringify(c)}`);
  assert.equal(c.sid, session.sid, `a token exchanged under a session's right carries its sid: ${JSON.stringify(c)}`);
  const row = await exchangedRow(agentC, c);
  assert.equal(row.details.policy, 'session', `details.policy names the session: ${JSON.stringify(row)}`);
  assert.equal(row.session_id, session.sid, `the row carries the session: ${JSON.stringify(row)}`);

  await revokeSession(t, session.sid);
  await expectInactive(t, rs, body.access_token, 'a token exchanged under the session, after it was revoked');
  const res = await exchangeRaw(t, agentC, stPairs(tokens.access_token, await actorToken(agentC), [['resource', RESOURCE]]));
  await refused(res, 'invalid_request', 'an exchange after the session that gave the right ended');
  const cs = await consents(t, { user: alice.id, client: agentC.client_id });
  assert.equal(cs.length, 0, `no standing consent was left behind: ${JSON.stringify(cs)}`);
});

// SPEC §4.4: "… ∩ the person's grant to that agent (… otherwise the consented
// scopes)"; withdrawing the consent ends what was exchanged under it
test('the person’s consent to the agent bounds the scope; withdrawing it ends the right and the exchanged tokens', async () => {
  const agentD = await createCodeClient(t, {
    client_name: 'agent D (consented in a code flow)',
    grant_types: ['authorization_code', 'client_credentials', GT_EXCHANGE],
  });
  // alice consents to agent D for tools:read on RESOURCE (the consent page)
  await personTokens(t, agentD, alice, { scope: 'tools:read', resource: RESOURCE });
  const cs = await consents(t, { user: alice.id, client: agentD.client_id });
  assert.equal(cs.length, 1, `alice's consent to agent D: ${JSON.stringify(cs)}`);
  const web = await createCodeClient(t, { client_name: 'web app 3' });
  const { tokens } = await personTokens(t, web, alice, { scope: BOTH, resource: RESOURCE });
  const body = await exchange(t, agentD, {
    subject_token: tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentD),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
    scope: BOTH,
  });
  const c = await checkExchanged(t, body, { audience: RESOURCE });
  assert.equal(c.scope, 'tools:read', `the consent (tools:read) bounds the result: ${JSON.stringify(c)}`);
  const row = await exchangedRow(agentD, c);
  assert.equal(row.details.policy, 'consent', `details.policy names the consent: ${JSON.stringify(row)}`);

  const del = await withdrawConsent(t, { user: alice.id, client: agentD.client_id });
  assert.ok(del.status >= 200 && del.status < 300, `consent withdrawn\n  ${del.describe()}`);
  await expectInactive(t, rs, body.access_token, 'a token exchanged under the consent, after it was withdrawn');
  const res = await exchangeRaw(t, agentD, stPairs(tokens.access_token, await actorToken(agentD), [['resource', RESOURCE]]));
  await refused(res, 'invalid_request', 'an exchange after the person withdrew the consent');
});

test('an agent with neither consent nor can_act_for may not act for the person: invalid_request', async () => {
  const stranger = await createAgent(t, { client_name: 'stranger agent' });
  const res = await exchangeRaw(
    t,
    stranger,
    stPairs(aliceSession.tokens.access_token, await actorToken(stranger), [['resource', RESOURCE]]),
  );
  await refused(res, 'invalid_request', 'no right to act for the person');
});

// ---------------------------------------------------------------- subjects that are not acceptable

test('a subject token of another tenant is invalid_request', async () => {
  const w = await cibaWorld('xch2');
  const foreign = await approvedSession(w.t, w.agent, w.person, w.approver);
  const res = await exchangeRaw(
    t,
    agentB,
    stPairs(foreign.tokens.access_token, await actorToken(agentB), [['resource', RESOURCE]]),
  );
  await refused(res, 'invalid_request', 'a subject token of another tenant');
  // and the other way round: our person's token at the other tenant
  const agentThere = await createAgent(w.t, { can_act_for: ['*'] });
  const res2 = await exchangeRaw(
    w.t,
    agentThere,
    stPairs(aliceSession.tokens.access_token, await w.t.accessToken(agentThere), [['resource', RESOURCE]]),
  );
  await refused(res2, 'invalid_request', 'our subject token at another tenant', { audit: false });
});

test('a subject token revoked at the revocation endpoint is invalid_request', async () => {
  const s = await approvedSession(t, agentA, alice, approver);
  await revoke(t, agentA, s.tokens.access_token, 'access_token');
  await expectInactive(t, agentA, s.tokens.access_token, 'the revoked subject token');
  const res = await exchangeRaw(t, agentB, stPairs(s.tokens.access_token, await actorToken(agentB), [['resource', RESOURCE]]));
  await refused(res, 'invalid_request', 'a revoked subject token');
});

test('a session revoked by the admin API: its access token is refused as subject, and tokens exchanged from it are inactive', async () => {
  const s = await approvedSession(t, agentA, alice, approver);
  const body = await exchange(t, agentB, {
    subject_token: s.tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentB),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  const c = await checkExchanged(t, body, { audience: RESOURCE });
  assert.equal(c.sid, s.sid, 'the exchanged token carries the session id');
  assert.equal((await introspect(t, rs, body.access_token)).active, true, 'active before the revocation');
  await revokeSession(t, s.sid);
  await expectInactive(t, rs, body.access_token, 'a token exchanged from a revoked session (resource server)');
  await expectInactive(t, agentA, s.tokens.access_token, "the revoked session's own access token");
  const res = await exchangeRaw(t, agentB, stPairs(s.tokens.access_token, await actorToken(agentB), [['resource', RESOURCE]]));
  await refused(res, 'invalid_request', 'the access token of a revoked session');
  const res2 = await exchangeRaw(t, agentB, stPairs(body.access_token, await actorToken(agentB), [['resource', RESOURCE]]));
  await refused(res2, 'invalid_request', 'a token exchanged from a revoked session, exchanged again');
});

test('an expired subject token is invalid_request', async () => {
  const w = await cibaWorld('xch3', { tenantPatch: { access_token_ttl: 5 } });
  const s = await approvedSession(w.t, w.agent, w.person, w.approver);
  assert.ok(s.claims.exp - s.claims.iat <= 5, `the tenant's access_token_ttl 5 applies: ${JSON.stringify(s.claims)}`);
  const actor = await createAgent(w.t, { can_act_for: ['*'] });
  const wait = s.claims.exp * 1000 + 1500 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const res = await exchangeRaw(
    w.t,
    actor,
    stPairs(s.tokens.access_token, await w.t.accessToken(actor), [['resource', RESOURCE]]),
  );
  await refused(res, 'invalid_request', 'an expired subject token', { audit: false });
  const row = await auditRowOf(res, 'token.exchanged', w.t);
  assert.equal(row.outcome, 'failure', JSON.stringify(row));
});

// ---------------------------------------------------------------- token types

// RFC 8693 §2.1: subject_token_type "An identifier … that indicates the type
// of the security token in the subject_token parameter"; §2.2.2: invalid_request
// "If the authorization server is unwilling or unable to issue a token for any
// reason related to the subject_token or actor_token".
test('token types that do not match the token, and malformed type parameters: invalid_request', async () => {
  const subject = aliceSession.tokens.access_token;
  const actor = await actorToken(agentB);
  const refreshToken = aliceSession.tokens.refresh_token;
  assert.equal(typeof refreshToken, 'string', 'the session gave a refresh token');
  const cases = [
    ['a refresh token declared as an access token', stPairs(refreshToken, actor)],
    ['a refresh token declared as a refresh token', stPairs(refreshToken, actor, [], { subject: TT_REFRESH })],
    ['an access token declared as a refresh token', stPairs(subject, actor, [], { subject: TT_REFRESH })],
    ['an access token declared as an id_token', stPairs(subject, actor, [], { subject: TT_ID })],
    ['an unknown subject_token_type', stPairs(subject, actor, [], { subject: 'urn:example:token-type:magic' })],
    ['an actor token declared as an id_token', stPairs(subject, actor, [], { actor: TT_ID })],
    ['actor_token without actor_token_type', [['subject_token', subject], ['subject_token_type', TT_ACCESS], ['actor_token', actor]]],
    ['actor_token_type without actor_token', [['subject_token', subject], ['subject_token_type', TT_ACCESS], ['actor_token_type', TT_ACCESS]]],
    ['subject_token without subject_token_type', [['subject_token', subject], ['actor_token', actor], ['actor_token_type', TT_ACCESS]]],
    ['no subject_token', [['subject_token_type', TT_ACCESS], ['actor_token', actor], ['actor_token_type', TT_ACCESS]]],
    ['requested_token_type refresh_token', stPairs(subject, actor, [['requested_token_type', TT_REFRESH]])],
    ['the person’s token as actor_token (not issued to the agent as itself)', stPairs(subject, subject)],
    ['another client’s own token as actor_token', stPairs(subject, await actorToken(agentA))],
  ];
  for (const [what, pairs] of cases) {
    const res = await exchangeRaw(t, agentB, [...pairs, ['resource', RESOURCE]]);
    await refused(res, 'invalid_request', what);
  }
  await assertHealthy('token type mismatches');
});

// ---------------------------------------------------------------- bad JWTs

/** A JWS compact serialisation with the given header, payload and raw signature bytes. */
function compact(header, payload, sig = Buffer.alloc(0)) {
  const b = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
  return `${b(header)}.${b(payload)}.${Buffer.from(sig).toString('base64url')}`;
}

function hs256(header, payload, secret) {
  const si = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${si}.${createHmac('sha256', secret).update(si).digest('base64url')}`;
}

test('garbage, truncated, tampered and oversized subject and actor tokens: 4xx invalid_request, never a 5xx', async () => {
  const good = aliceSession.tokens.access_token;
  const [h, p, s] = good.split('.');
  const claims = decode(good);
  const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'tools:read tools:call admin' })).toString('base64url');
  const big = `${h}.${Buffer.from(JSON.stringify({ ...claims, pad: 'x'.repeat(100 * 1024) })).toString('base64url')}.${s}`;
  const mid = `${h}.${Buffer.from(JSON.stringify({ ...claims, pad: 'x'.repeat(20 * 1024) })).toString('base64url')}.${s}`;
  const bad = [
    ['garbage', 'garbage'],
    ['empty', ''],
    ['three dots', '...'],
    ['a.b.c', 'a.b.c'],
    ['non-base64url parts', '!!.@@.##'],
    ['truncated signature', good.slice(0, -6)],
    ['header and payload only', `${h}.${p}`],
    ['header only', h],
    ['four parts', `${good}.${s}`],
    ['payload tampered (scope widened), original signature', `${h}.${widened}.${s}`],
    ['header not JSON', `${Buffer.from('{"alg":').toString('base64url')}.${p}.${s}`],
    ['payload not JSON', `${h}.${Buffer.from('not json').toString('base64url')}.${s}`],
    ['payload a JSON array', `${h}.${Buffer.from('[1,2]').toString('base64url')}.${s}`],
    ['NUL bytes', `${h}\u0000.${p}.${s}`],
    ['a 20 KB JWT', mid],
  ];
  const actor = await actorToken(agentB);
  for (const [what, tok] of bad) {
    // A NUL byte is refused by the form parser before the grant runs (SPEC §9
    // bad input); every other case reaches the exchange and is audited.
    const audit = what !== 'NUL bytes';
    const res = await exchangeRaw(t, agentB, stPairs(tok, actor, [['resource', RESOURCE]]));
    await refused(res, 'invalid_request', `subject_token: ${what}`, { audit });
    const res2 = await exchangeRaw(t, agentB, stPairs(good, tok, [['resource', RESOURCE]]));
    await refused(res2, 'invalid_request', `actor_token: ${what}`, { audit });
  }
  // 100 KB: larger than the server's body limit, so 413 is as good as 400 —
  // but it is an RFC 6749 invalid_request either way, and never a 5xx.
  const res = await exchangeRaw(t, agentB, stPairs(big, actor, [['resource', RESOURCE]]));
  await refused(res, 'invalid_request', 'subject_token: a 100 KB JWT', { status: [400, 413], audit: false });
  await assertHealthy('bad JWTs at token exchange');
});

// RFC 8725 §3.1: "Libraries MUST enable the caller to specify a supported set
// of algorithms and MUST NOT use any other algorithms when performing
// cryptographic operations." §2.1: alg none; §2.1 also: the RSA/EC public key
// used as an HMAC secret ("alg confusion").
test('alg none, HS256 keyed with the issuer’s public key (alg confusion), unknown kid, foreign key: invalid_request', async () => {
  const good = aliceSession.tokens.access_token;
  const header = jose.decodeProtectedHeader(good);
  const claims = { ...decode(good), jti: randomBytes(16).toString('base64url') };
  const jwks = (await get(t.as.jwks_uri)).json;
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `the signing key ${header.kid} is published`);
  const pub = createPublicKey({ key: jwk, format: 'jwk' });
  const pem = pub.export({ type: 'spki', format: 'pem' });
  const der = pub.export({ type: 'spki', format: 'der' });
  const mine = await jose.generateKeyPair('ES256');
  const signMine = (hdr) => new jose.SignJWT(claims).setProtectedHeader(hdr).sign(mine.privateKey);

  const forged = [
    ['alg none (empty signature)', compact({ alg: 'none', typ: 'at+jwt', kid: header.kid }, claims)],
    ['alg none, original signature kept', `${compact({ alg: 'none', typ: 'at+jwt', kid: header.kid }, claims).slice(0, -1)}${good.split('.')[2]}`],
    ['alg "None"', compact({ alg: 'None', typ: 'at+jwt', kid: header.kid }, claims)],
    ['HS256 keyed with the public JWK (JSON)', hs256({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }, claims, JSON.stringify(jwk))],
    ['HS256 keyed with the public key PEM', hs256({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }, claims, pem)],
    ['HS256 keyed with the public key DER', hs256({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }, claims, der)],
    ['HS256 keyed with the JWK x coordinate', hs256({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }, claims, Buffer.from(jwk.x, 'base64url'))],
    ['unknown kid, signed by a stranger', await signMine({ alg: 'ES256', typ: 'at+jwt', kid: 'no-such-kid' })],
    ['the issuer’s kid, signed by a stranger', await signMine({ alg: 'ES256', typ: 'at+jwt', kid: header.kid })],
    ['no kid, signed by a stranger', await signMine({ alg: 'ES256', typ: 'at+jwt' })],
    ['jwk header (embedded key) signed by a stranger', await signMine({ alg: 'ES256', typ: 'at+jwt', jwk: await jose.exportJWK(mine.publicKey) })],
  ];
  const actor = await actorToken(agentB);
  for (const [what, tok] of forged) {
    for (const type of [TT_ACCESS, TT_JWT]) {
      const res = await exchangeRaw(t, agentB, stPairs(tok, actor, [['resource', RESOURCE]], { subject: type }));
      await refused(res, 'invalid_request', `subject_token (${type.split(':').pop()}): ${what}`);
    }
    const res = await exchangeRaw(t, agentB, stPairs(good, tok, [['resource', RESOURCE]]));
    await refused(res, 'invalid_request', `actor_token: ${what}`);
  }
  await assertHealthy('forged JWTs');
});

// ---------------------------------------------------------------- impersonation

test('impersonation (no actor_token) is unauthorized_client without may_impersonate, audited as impersonation', async () => {
  const res = await exchangeRaw(t, agentB, stPairs(aliceSession.tokens.access_token, null, [['resource', RESOURCE]]));
  await refused(res, 'unauthorized_client', 'impersonation by an agent without may_impersonate');
  const row = await auditRowOf(res);
  assert.equal(row.details?.impersonation, true, `the refusal is audited as impersonation: ${JSON.stringify(row)}`);
});

test('impersonation is allowed with may_impersonate: sub = person, no act, audited with details.impersonation true', async () => {
  const imp = await createAgent(t, { client_name: 'impersonating service', may_impersonate: true });
  const body = await exchange(t, imp, {
    subject_token: aliceSession.tokens.access_token,
    subject_token_type: TT_ACCESS,
    resource: RESOURCE,
    scope: 'tools:read',
  });
  const c = await checkExchanged(t, body, { audience: RESOURCE });
  assert.equal(c.sub, alice.id, JSON.stringify(c));
  assert.equal(c.client_id, imp.client_id, JSON.stringify(c));
  assert.equal(c.act, undefined, `impersonation names no actor: ${JSON.stringify(c)}`);
  assert.equal(c.scope, 'tools:read');
  const row = await exchangedRow(imp, c);
  assert.equal(row.details.impersonation, true, `details.impersonation: ${JSON.stringify(row)}`);
  assert.equal(row.subject, alice.id);
  assert.equal(typeof row.details.policy, 'string', JSON.stringify(row));
});

// ---------------------------------------------------------------- the issued tokens at work

test('exchanged tokens cannot be refreshed and expire no later than the subject', async () => {
  const s = await approvedSession(t, agentA, alice, approver, { session_ttl: '120' });
  const body = await exchange(t, agentA, {
    subject_token: s.tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await actorToken(agentA),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  const c = await checkExchanged(t, body, { audience: RESOURCE });
  assert.ok(c.exp <= s.claims.exp, `exp ${c.exp} ≤ subject exp ${s.claims.exp}`);
  const nowS = Math.floor(Date.now() / 1000);
  assert.ok(c.exp <= nowS + 121, `exp ${c.exp} is not after the session's end (≈ now + 120 s): now ${nowS}`);
  // the access token is not a refresh token
  // (RFC 6749 §5.2: invalid_grant for a refresh token that is not one;
  // invalid_request is tolerated for a value that cannot even be one.)
  const r = await refreshRaw(t, agentA, body.access_token);
  assertOAuthError(r, { status: 400, error: ['invalid_grant', 'invalid_request'] });
});

test('the token endpoint never answers an exchange with a 5xx for odd forms', async () => {
  const subject = aliceSession.tokens.access_token;
  const actor = await actorToken(agentB);
  const forms = [
    stPairs(subject, actor, [['resource', RESOURCE], ['resource', OTHER_RESOURCE]]),
    stPairs(subject, actor, [['scope', '']]),
    stPairs(subject, actor, [['scope', '   ']]),
    stPairs(subject, actor, [['audience', '']]),
    [...stPairs(subject, actor), ['subject_token', subject]],
    stPairs(subject, actor, [['scope', "tools:read' OR '1'='1"]]),
  ];
  for (const f of forms) {
    const res = await exchangeRaw(t, agentB, f);
    assert.ok(res.status < 500, `never a 5xx\n  ${res.describe()}`);
    if (res.status !== 200) assertOAuthError(res, { status: res.status, error: ['invalid_request', 'invalid_target', 'invalid_scope'] });
  }
  // the grant_type through client_secret_post too
  const r = await postForm(t.as.token_endpoint, [
    ['grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    ...stPairs(subject, actor, [['resource', RESOURCE]]),
    ['client_id', agentB.client_id],
    ['client_secret', 'wrong'],
  ]);
  assertOAuthError(r, { status: [400, 401], error: 'invalid_client' });
  await assertHealthy('odd exchange forms');
});
