// Issue 5: approval-gated session grants (SPEC §4.5, §5, §7, §8; OpenID CIBA
// Core 1.0 poll and ping modes). The agent asks at the backchannel
// authentication endpoint and polls the token endpoint through oauth4webapi;
// an external approval system decides through the approval callback; ping
// notifications and approval webhooks arrive at small receivers on
// 127.0.0.1, which verify the bearer token and the HMAC signature.
//
// One test starts a second authzd on the same database (lib/authzd.mjs; it
// needs AUTHZ_DATABASE_URL and AUTHZ_MASTER_KEY_FILE as tests/lib.sh exports
// them). The webhook across an authzd restart is test/ciba-restart.test.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { createTenant, insecure, RESOURCE, OTHER_RESOURCE } from '../lib/fixture.mjs';
import { assertOAuthError, assertHealthy, okJson, audList, scopeSet } from '../lib/checks.mjs';
import { jsonRequest } from '../lib/http.mjs';
import {
  createUser,
  clientAuth,
  introspect,
  revoke,
  expectInactive,
  refresh,
  refreshRaw,
  auditEvents,
  consents,
  patchTenant,
} from '../lib/codeflow.mjs';
import { createAgent, createResourceServer, exchange, exchangeRaw, stPairs, checkExchanged, TT_ACCESS } from '../lib/exchange.mjs';
import {
  CIBA_GRANT,
  createApprover,
  createCibaAgent,
  bcParams,
  bcAuthorize,
  bcAuthorizeRaw,
  decide,
  mustDecide,
  pollRaw,
  pollTokens,
  approvedSession,
  listSessions,
  revokeSession,
  revokeSessionRaw,
  startReceiver,
  verifyWebhookSignature,
  cibaWorld,
  sleep,
} from '../lib/ciba.mjs';
import { startPeer, onPeer } from '../lib/authzd.mjs';

const BOTH = 'tools:read tools:call';

let t;
let approver;
let agent; // poll-mode CIBA agent
let alice;
let bob;
let rs; // resource server introspecting RESOURCE
const receivers = [];

before(async () => {
  t = await createTenant('ciba');
  approver = await createApprover(t);
  agent = await createCibaAgent(t);
  alice = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  bob = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  rs = await createResourceServer(t, [RESOURCE]);
});

after(async () => {
  for (const r of receivers) await r.close();
});

async function receiver(opts) {
  const r = await startReceiver(opts);
  receivers.push(r);
  return r;
}

/** Audit rows of `event` in tenant `tt`, newest first, that satisfy `pred`; waits up to `ms` for one. */
async function auditRow(tt, event, pred, ms = 0, what = event) {
  const deadline = Date.now() + ms;
  for (;;) {
    const rows = await auditEvents(tt, { event, limit: '200' });
    const row = rows.find(pred);
    if (row) return row;
    if (Date.now() >= deadline) {
      assert.fail(`${what}: no ${event} audit row matched${ms ? ` within ${ms} ms` : ''}; newest: ${JSON.stringify(rows.slice(0, 3))}`);
    }
    await sleep(200);
  }
}

const byReq = (id) => (r) => JSON.stringify(r.details ?? {}).includes(id);

async function pollError(tt, client, id, error, what) {
  const res = await pollRaw(tt, client, id);
  try {
    return assertOAuthError(res, { status: 400, error });
  } catch (e) {
    e.message = `${what}: ${e.message}`;
    throw e;
  }
}

/** Introspection (oauth4webapi) at an authorization server metadata `as` (e.g. a second authzd). */
async function introspectAt(as, client, token) {
  const res = await oauth.introspectionRequest(as, { client_id: client.client_id }, clientAuth(client), token, insecure);
  return oauth.processIntrospectionResponse(as, { client_id: client.client_id }, res);
}

async function inactiveWithin(as, client, token, what, ms = 1000) {
  const start = Date.now();
  let last;
  for (;;) {
    last = await introspectAt(as, client, token);
    if (last.active === false) return Date.now() - start;
    if (Date.now() - start > ms) assert.fail(`${what}: still active ${ms} ms after the revocation: ${JSON.stringify(last)}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------- the poll flow

test('poll flow: pending, approved by the callback, tokens with sid once; a second redemption is invalid_grant', async () => {
  const params = bcParams(alice, { scope: BOTH, session_ttl: '600' });
  const req = await bcAuthorize(t, agent, params);
  // CIBA Core §7.3: auth_req_id, expires_in, interval
  assert.equal(typeof req.auth_req_id, 'string', JSON.stringify(req));
  assert.ok(req.auth_req_id.length >= 16, `auth_req_id has enough entropy: ${JSON.stringify(req)}`);
  assert.ok(req.expires_in > 0, JSON.stringify(req));
  assert.ok(Number.isInteger(req.interval) && req.interval >= 1, `interval: ${JSON.stringify(req)}`);

  await pollError(t, agent, req.auth_req_id, 'authorization_pending', 'first poll before any decision');
  const pending = (await listSessions(t, { client: agent.client_id, state: 'pending' })).find((s) => s.auth_req_id === req.auth_req_id);
  assert.ok(pending, 'the request shows as a pending session');
  assert.equal(pending.binding_message, params.binding_message, JSON.stringify(pending));
  assert.equal(pending.subject, alice.id, JSON.stringify(pending));
  const requested = await auditRow(t, 'session.requested', byReq(req.auth_req_id));
  assert.equal(requested.subject, alice.id, JSON.stringify(requested));
  assert.equal(requested.client_id, agent.client_id, JSON.stringify(requested));

  const answer = await mustDecide(t, await approver.token(), req.auth_req_id, 'approve', alice.username);
  assert.deepEqual(answer, { auth_req_id: req.auth_req_id, status: 'approved' });

  await sleep(req.interval * 1000 + 200);
  const tokens = await pollTokens(t, agent, req.auth_req_id);
  assert.equal(typeof tokens.refresh_token, 'string', `approval issues a refresh token: ${JSON.stringify(Object.keys(tokens))}`);
  const v = await t.verify(tokens.access_token, { audience: RESOURCE });
  const c = v.payload;
  assert.equal(v.protectedHeader.typ, 'at+jwt');
  assert.equal(c.sub, alice.id, JSON.stringify(c));
  assert.equal(c.client_id, agent.client_id, JSON.stringify(c));
  assert.deepEqual(audList(c.aud), [RESOURCE], JSON.stringify(c));
  assert.deepEqual([...scopeSet(c.scope)].sort(), ['tools:call', 'tools:read'], JSON.stringify(c));
  assert.equal(typeof c.sid, 'string', `the access token carries sid: ${JSON.stringify(c)}`);
  const nowS = Math.floor(Date.now() / 1000);
  assert.ok(c.exp <= nowS + 601, 'nothing outlives the session');

  // the refresh token carries the session too (introspected by its own client)
  const ri = await introspect(t, agent, tokens.refresh_token);
  assert.equal(ri.active, true, JSON.stringify(ri));
  assert.equal(ri.sid, c.sid, `the refresh token carries sid: ${JSON.stringify(ri)}`);

  // CIBA Core §11 / RFC 6749: tokens once
  await pollError(t, agent, req.auth_req_id, 'invalid_grant', 'a second redemption');

  const active = (await listSessions(t, { user: alice.id, state: 'active' })).find((s) => s.sid === c.sid);
  assert.ok(active, `the session shows as active with sid ${c.sid}`);
  assert.equal(active.auth_req_id, req.auth_req_id);
  assert.equal(active.client_id, agent.client_id);
  assert.equal(active.username, alice.username);
  assert.ok(Array.isArray(active.resources) && active.resources.includes(RESOURCE), JSON.stringify(active));

  const approved = await auditRow(t, 'session.approved', (r) => r.session_id === c.sid);
  assert.equal(approved.details?.approver, alice.username, `session.approved details.approver: ${JSON.stringify(approved)}`);
  assert.equal(approved.subject, alice.id, JSON.stringify(approved));
  assert.equal(approved.client_id, agent.client_id, JSON.stringify(approved));

  // SPEC §4.5: approving "records no standing consent: when the session
  // ends, the right ends with it"
  const cs = await consents(t, { user: alice.id, client: agent.client_id });
  assert.equal(cs.length, 0, `approving a session records no consent: ${JSON.stringify(cs)}`);

  // the refresh grant keeps the session
  const r2 = await refresh(t, agent, tokens.refresh_token);
  assert.equal(jose.decodeJwt(r2.access_token).sid, c.sid, 'a refreshed access token keeps sid');
});

test('deny through the callback: access_denied; audited with the approver', async () => {
  const req = await bcAuthorize(t, agent, bcParams(alice));
  const answer = await mustDecide(t, await approver.token(), req.auth_req_id, 'deny', alice.username);
  assert.deepEqual(answer, { auth_req_id: req.auth_req_id, status: 'denied' });
  await pollError(t, agent, req.auth_req_id, 'access_denied', 'poll after a denial');
  const row = await auditRow(t, 'session.denied', byReq(req.auth_req_id));
  assert.equal(row.details?.approver, alice.username, `session.denied details.approver: ${JSON.stringify(row)}`);
  assert.equal(row.subject, alice.id);
  const denied = (await listSessions(t, { client: agent.client_id, state: 'denied' })).find((s) => s.auth_req_id === req.auth_req_id);
  assert.ok(denied, 'the denied request lists with state denied');
  // a second decision: 409
  const again = await decide(t, await approver.token(), req.auth_req_id, { decision: 'approve', approver: alice.username });
  assert.equal(again.status, 409, `a decision after a denial\n  ${again.describe()}`);
});

test('slow_down when polling faster than the interval, and the interval grows by 5 s', async () => {
  const req = await bcAuthorize(t, agent, bcParams(alice));
  await pollError(t, agent, req.auth_req_id, 'authorization_pending', 'first poll');
  await pollError(t, agent, req.auth_req_id, 'slow_down', 'a second poll at once');
  // the interval is now interval + 5: polling after the original interval is still too fast
  await sleep(req.interval * 1000 + 1000);
  await pollError(t, agent, req.auth_req_id, 'slow_down', `a poll ${req.interval + 1} s later (interval grew to ${req.interval + 5} s)`);
});

test('a second decision is 409; the wrong approver is 403 and the request stays pending', async () => {
  const req = await bcAuthorize(t, agent, bcParams(alice));
  const tok = await approver.token();
  const wrong = await decide(t, tok, req.auth_req_id, { decision: 'approve', approver: bob.username });
  assert.equal(wrong.status, 403, `bob may not approve alice's request\n  ${wrong.describe()}`);
  const nobody = await decide(t, tok, req.auth_req_id, { decision: 'approve', approver: 'nobody-at-all' });
  assert.equal(nobody.status, 403, `an unknown approver\n  ${nobody.describe()}`);
  await pollError(t, agent, req.auth_req_id, 'authorization_pending', 'after a refused decision the request is still pending');
  const s = (await listSessions(t, { client: agent.client_id })).find((x) => x.auth_req_id === req.auth_req_id);
  assert.equal(s?.state, 'pending', JSON.stringify(s));

  await mustDecide(t, tok, req.auth_req_id, 'approve', alice.username);
  for (const decision of ['approve', 'deny']) {
    const again = await decide(t, tok, req.auth_req_id, { decision, approver: alice.username });
    assert.equal(again.status, 409, `a second decision (${decision})\n  ${again.describe()}`);
  }
});

test('the decision callback: bearer token with approvals:decide for this issuer only; bad bodies are 400', async () => {
  const req = await bcAuthorize(t, agent, bcParams(alice));
  const url = `${t.issuer}/approvals/${req.auth_req_id}/decision`;
  const body = { decision: 'approve', approver: alice.username };
  const none = await jsonRequest('POST', url, { body });
  assert.equal(none.status, 401, `no token\n  ${none.describe()}`);
  assert.match(none.header('www-authenticate') || '', /^Bearer/i, `WWW-Authenticate: Bearer\n  ${none.describe()}`);
  const junk = await decide(t, 'not-a-token', req.auth_req_id, body);
  assert.equal(junk.status, 401, `a junk token\n  ${junk.describe()}`);
  const agentTok = await t.accessToken(agent, { scope: 'tools:read' });
  const noScope = await decide(t, agentTok, req.auth_req_id, body);
  assert.equal(noScope.status, 403, `a token without approvals:decide\n  ${noScope.describe()}`);
  const other = await cibaWorld('ciba-x');
  const foreign = await decide(t, await other.approver.token(), req.auth_req_id, body);
  assert.ok([401, 403].includes(foreign.status), `another tenant's approvals:decide token\n  ${foreign.describe()}`);
  const tok = await approver.token();
  for (const [what, b] of [
    ['no decision', { approver: alice.username }],
    ['no approver', { decision: 'approve' }],
    ['decision maybe', { decision: 'maybe', approver: alice.username }],
    ['an array', [1, 2]],
    ['broken JSON', '{"decision":'],
  ]) {
    const res = await decide(t, tok, req.auth_req_id, b);
    assert.equal(res.status, 400, `${what}\n  ${res.describe()}`);
  }
  const unknown = await decide(t, tok, 'no-such-request', body);
  assert.equal(unknown.status, 404, `an unknown auth_req_id\n  ${unknown.describe()}`);
  await pollError(t, agent, req.auth_req_id, 'authorization_pending', 'none of that decided anything');
  await assertHealthy('decision callback refusals');
});

// ---------------------------------------------------------------- the backchannel request

test('backchannel request errors: session_ttl above the cap, no binding_message, unknown login_hint, non-CIBA client, bad scope and resource', async () => {
  const patched = await patchTenant(t, { max_session_ttl: 1800 });
  assert.equal(patched.status, 200, patched.describe());
  const over = await bcAuthorizeRaw(t, agent, bcParams(alice, { session_ttl: '1801' }));
  assertOAuthError(over, { status: 400, error: 'invalid_request' });
  const at = await bcAuthorizeRaw(t, agent, bcParams(alice, { session_ttl: '1800' }));
  assert.equal(at.status, 200, `session_ttl at the cap is fine\n  ${at.describe()}`);

  const noBinding = await bcAuthorizeRaw(t, agent, bcParams(alice, { binding_message: null }));
  assertOAuthError(noBinding, { status: 400, error: ['invalid_binding_message', 'invalid_request'] });
  const unknown = await bcAuthorizeRaw(t, agent, bcParams({ username: 'nobody-by-that-name' }));
  assertOAuthError(unknown, { status: 400, error: 'unknown_user_id' });
  const noHint = await bcAuthorizeRaw(t, agent, bcParams(alice, { login_hint: null }));
  assertOAuthError(noHint, { status: 400, error: 'invalid_request' });

  const plain = await createAgent(t, { client_name: 'not a CIBA client' });
  const notCiba = await bcAuthorizeRaw(t, plain, bcParams(alice));
  assertOAuthError(notCiba, { status: 400, error: 'unauthorized_client' });
  const badSecret = await bcAuthorizeRaw(t, { ...agent, client_secret: 'wrong' }, bcParams(alice));
  assertOAuthError(badSecret, { status: 401, error: 'invalid_client' });

  const badScope = await bcAuthorizeRaw(t, agent, bcParams(alice, { scope: 'files:read' }));
  assertOAuthError(badScope, { status: 400, error: 'invalid_scope' });
  const badResource = await bcAuthorizeRaw(t, agent, bcParams(alice, { resource: 'https://unknown.example.test/' }));
  assertOAuthError(badResource, { status: 400, error: 'invalid_target' });
  const notAllowed = await bcAuthorizeRaw(t, agent, bcParams(alice, { resource: OTHER_RESOURCE, scope: 'files:read' }));
  assertOAuthError(notAllowed, { status: 400, error: ['invalid_target', 'invalid_scope'] });
  for (const ttl of ['0', '-5', 'abc', '1e3']) {
    const r = await bcAuthorizeRaw(t, agent, bcParams(alice, { session_ttl: ttl }));
    assertOAuthError(r, { status: 400, error: 'invalid_request' });
  }
  // openid is not required, and is accepted
  const withOpenid = await bcAuthorizeRaw(t, agent, bcParams(alice, { scope: `openid ${BOTH}` }));
  assert.equal(withOpenid.status, 200, withOpenid.describe());
  await patchTenant(t, { max_session_ttl: 3600 });
  await assertHealthy('backchannel request errors');
});

test('polling with another client’s auth_req_id, or an unknown one, is invalid_grant and changes nothing', async () => {
  const other = await createCibaAgent(t, { client_name: 'another CIBA agent' });
  const req = await bcAuthorize(t, agent, bcParams(alice));
  await pollError(t, other, req.auth_req_id, 'invalid_grant', "another client's auth_req_id");
  await pollError(t, other, 'no-such-auth-req-id', 'invalid_grant', 'an unknown auth_req_id');
  await pollError(t, agent, req.auth_req_id, 'authorization_pending', 'the owner still sees it pending');
  await mustDecide(t, await approver.token(), req.auth_req_id, 'approve', alice.username);
  await pollError(t, other, req.auth_req_id, 'invalid_grant', "another client's approved auth_req_id");
  await sleep(req.interval * 1000 + 200);
  const tokens = await pollTokens(t, agent, req.auth_req_id);
  assert.equal(jose.decodeJwt(tokens.access_token).client_id, agent.client_id);
  // other tenants know nothing of it
  const w = await cibaWorld('ciba-y');
  await pollError(w.t, w.agent, req.auth_req_id, 'invalid_grant', "a request of another tenant");
});

// ---------------------------------------------------------------- the session's end

test('a short session_ttl (3 s): tokens end with it; introspection false, refresh and exchange fail, session.expired audited', async () => {
  const s = await approvedSession(t, agent, alice, approver, { session_ttl: '3' });
  const end = Date.now() + 3000;
  assert.ok(s.claims.exp <= Math.floor(end / 1000) + 1, `the access token does not outlive the session: ${JSON.stringify(s.claims)}`);
  const x = await exchange(t, agent, {
    subject_token: s.tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await t.accessToken(agent),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  const xc = await checkExchanged(t, x, { audience: RESOURCE });
  assert.ok(xc.exp <= s.claims.exp, 'the exchanged token does not outlive the session');
  assert.equal((await introspect(t, rs, x.access_token)).active, true);

  await sleep(Math.max(0, end - Date.now()) + 1500);
  const i1 = await introspect(t, agent, s.tokens.access_token);
  assert.equal(i1.active, false, `the session's access token after its end: ${JSON.stringify(i1)}`);
  const i2 = await introspect(t, rs, x.access_token);
  assert.equal(i2.active, false, `the exchanged token after the session's end: ${JSON.stringify(i2)}`);
  const i3 = await introspect(t, agent, s.tokens.refresh_token);
  assert.equal(i3.active, false, `the refresh token after the session's end: ${JSON.stringify(i3)}`);
  const r = await refreshRaw(t, agent, s.tokens.refresh_token);
  assertOAuthError(r, { status: 400, error: 'invalid_grant' });
  const xr = await exchangeRaw(t, agent, stPairs(s.tokens.access_token, await t.accessToken(agent), [['resource', RESOURCE]]));
  assertOAuthError(xr, { status: 400, error: 'invalid_request' });
  const session = (await listSessions(t, { user: alice.id })).find((x2) => x2.sid === s.sid);
  assert.equal(session?.state, 'expired', `the session lists as expired: ${JSON.stringify(session)}`);
  const row = await auditRow(t, 'session.expired', (x2) => x2.session_id === s.sid || byReq(s.req.auth_req_id)(x2), 6000, 'session end');
  assert.equal(row.event, 'session.expired');
});

test('an unanswered request expires: expired_token, audited as session.expired', async () => {
  const req = await bcAuthorize(t, agent, bcParams(alice, { requested_expiry: '2' }));
  assert.ok(req.expires_in <= 2, JSON.stringify(req));
  await sleep(3000);
  await pollError(t, agent, req.auth_req_id, 'expired_token', 'poll after requested_expiry');
  await auditRow(t, 'session.expired', byReq(req.auth_req_id), 6000, 'request expiry');
  const late = await decide(t, await approver.token(), req.auth_req_id, { decision: 'approve', approver: alice.username });
  assert.equal(late.status, 409, `a decision after the request expired\n  ${late.describe()}`);
});

test('a session revoked by the admin API: a token exchanged from it turns inactive within 1 s for a resource server, on a second authzd too', async () => {
  const peer = await startPeer('ciba-peer');
  try {
    const peerAs = { ...t.as, introspection_endpoint: onPeer(peer, t.as.introspection_endpoint) };
    const s = await approvedSession(t, agent, alice, approver);
    const x = await exchange(t, agent, {
      subject_token: s.tokens.access_token,
      subject_token_type: TT_ACCESS,
      actor_token: await t.accessToken(agent),
      actor_token_type: TT_ACCESS,
      resource: RESOURCE,
    });
    const xc = await checkExchanged(t, x, { audience: RESOURCE });
    assert.equal(xc.sid, s.sid, 'the exchanged token carries the session id');
    const a1 = await introspect(t, rs, x.access_token);
    const a2 = await introspectAt(peerAs, rs, x.access_token);
    assert.equal(a1.active, true, `active at the first authzd: ${JSON.stringify(a1)}`);
    assert.equal(a2.active, true, `active at the second authzd: ${JSON.stringify(a2)}`);
    assert.deepEqual(a2.act, { sub: agent.client_id }, `the second authzd shows act too: ${JSON.stringify(a2)}`);

    await revokeSession(t, s.sid);
    const [ms1, ms2] = await Promise.all([
      inactiveWithin(t.as, rs, x.access_token, 'exchanged token at the first authzd'),
      inactiveWithin(peerAs, rs, x.access_token, 'exchanged token at the second authzd'),
    ]);
    assert.ok(ms1 <= 1000 && ms2 <= 1000, `inactive within 1 s (${ms1} ms, ${ms2} ms)`);
    await expectInactive(t, agent, s.tokens.access_token, "the session's access token");
    const r = await refreshRaw(t, agent, s.tokens.refresh_token);
    assertOAuthError(r, { status: 400, error: 'invalid_grant' });
    const row = await auditRow(t, 'session.revoked', (x2) => x2.session_id === s.sid);
    assert.equal(row.subject, alice.id, JSON.stringify(row));
    const listed = (await listSessions(t, { user: alice.id, state: 'revoked' })).find((x2) => x2.sid === s.sid);
    assert.ok(listed, 'the session lists as revoked');
    // revoking again: nothing left to revoke, never a 5xx
    const again = await revokeSessionRaw(t, s.sid);
    assert.ok(again.status < 500, again.describe());
  } finally {
    const { code } = await peer.stop();
    assert.equal(code, 0, `the second authzd exits 0 on SIGTERM; log:\n${peer.log().slice(-2000)}`);
  }
});

test('a session revoked before the agent polls yields no tokens', async () => {
  const req = await bcAuthorize(t, agent, bcParams(alice));
  await mustDecide(t, await approver.token(), req.auth_req_id, 'approve', alice.username);
  const s = (await listSessions(t, { client: agent.client_id, state: 'active' })).find((x) => x.auth_req_id === req.auth_req_id);
  assert.ok(s?.sid, `the approved session lists as active with a sid: ${JSON.stringify(s)}`);
  await revokeSession(t, s.sid);
  const res = await pollRaw(t, agent, req.auth_req_id);
  assert.notEqual(res.status, 200, `no tokens for a revoked session\n  ${res.describe()}`);
  assertOAuthError(res, { status: 400, error: ['invalid_grant', 'access_denied', 'expired_token'] });
});

test('the agent revoking its refresh token ends the session and every token derived from it', async () => {
  const s = await approvedSession(t, agent, alice, approver);
  const x = await exchange(t, agent, {
    subject_token: s.tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await t.accessToken(agent),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  await revoke(t, agent, s.tokens.refresh_token, 'refresh_token');
  await expectInactive(t, agent, s.tokens.access_token, "the session's access token after the refresh token was revoked", 1000);
  await expectInactive(t, rs, x.access_token, 'the exchanged token after the refresh token was revoked', 1000);
  const r = await refreshRaw(t, agent, s.tokens.refresh_token);
  assertOAuthError(r, { status: 400, error: 'invalid_grant' });
  const xr = await exchangeRaw(t, agent, stPairs(s.tokens.access_token, await t.accessToken(agent), [['resource', RESOURCE]]));
  assertOAuthError(xr, { status: 400, error: 'invalid_request' });
  const session = (await listSessions(t, { user: alice.id })).find((x2) => x2.sid === s.sid);
  assert.equal(session?.state, 'revoked', `the session is revoked: ${JSON.stringify(session)}`);
  await auditRow(t, 'session.revoked', (r) => r.session_id === s.sid, 0, 'revocation by the agent');
});

// ---------------------------------------------------------------- ping and webhook

test('ping mode: the notification endpoint receives {auth_req_id} with the client_notification_token, retried on failure', async () => {
  const rx = await receiver({ status: (n) => (n === 1 ? 503 : 200), path: '/ciba/ping' });
  const pinger = await createCibaAgent(t, {
    client_name: 'ping agent',
    backchannel_token_delivery_mode: 'ping',
    backchannel_client_notification_endpoint: rx.url,
  });
  // CIBA Core §7.1: client_notification_token is REQUIRED in ping mode
  const missing = await bcAuthorizeRaw(t, pinger, bcParams(alice));
  assertOAuthError(missing, { status: 400, error: 'invalid_request' });

  const cnt = randomBytes(24).toString('base64url');
  const req = await bcAuthorize(t, pinger, bcParams(alice, { client_notification_token: cnt }));
  await mustDecide(t, await approver.token(), req.auth_req_id, 'approve', alice.username);
  const got = await rx.wait((e) => e.body.includes(req.auth_req_id), 15000, 'the ping notification');
  assert.equal(got.method, 'POST');
  assert.equal(got.headers.authorization, `Bearer ${cnt}`, `the ping carries the client_notification_token: ${JSON.stringify(got.headers)}`);
  assert.match(got.headers['content-type'] || '', /^application\/json/, JSON.stringify(got.headers));
  assert.deepEqual(JSON.parse(got.body), { auth_req_id: req.auth_req_id }, `CIBA Core §10.2 body: ${got.body}`);
  assert.ok(rx.all.length >= 2, `the first (503) attempt was retried: ${rx.all.map((e) => e.answered)}`);

  const tokens = await pollTokens(t, pinger, req.auth_req_id);
  assert.equal(typeof jose.decodeJwt(tokens.access_token).sid, 'string');
  const row = await auditRow(t, 'session.notified', (r) => r.details?.channel === 'ping' && byReq(req.auth_req_id)(r), 3000);
  assert.equal(row.outcome, 'success', JSON.stringify(row));
});

test('ping mode: a denial is notified too', async () => {
  const rx = await receiver({ path: '/ciba/ping2' });
  const pinger = await createCibaAgent(t, {
    client_name: 'ping agent 2',
    backchannel_token_delivery_mode: 'ping',
    backchannel_client_notification_endpoint: rx.url,
  });
  const cnt = randomBytes(24).toString('base64url');
  const req = await bcAuthorize(t, pinger, bcParams(alice, { client_notification_token: cnt }));
  await mustDecide(t, await approver.token(), req.auth_req_id, 'deny', alice.username);
  const got = await rx.wait((e) => e.body.includes(req.auth_req_id), 10000, 'the ping after a denial');
  assert.equal(got.headers.authorization, `Bearer ${cnt}`);
  await pollError(t, pinger, req.auth_req_id, 'access_denied', 'poll after the ping');
});

test('the approval webhook: every new request is POSTed, signed (Authz-Signature HMAC-SHA256), retried; the secret is write-only', async () => {
  const rx = await receiver({ status: (n) => (n === 1 ? 500 : 200), path: '/approvals/webhook' });
  const secret = randomBytes(32).toString('hex');
  const w = await cibaWorld('ciba-wh');
  const bad = await patchTenant(w.t, { approval_webhook_url: 'http://approvals.example.test/hook', approval_webhook_secret: secret });
  assert.ok(bad.status >= 400 && bad.status < 500, `an http webhook off loopback is refused\n  ${bad.describe()}`);
  const ok = await patchTenant(w.t, { approval_webhook_url: rx.url, approval_webhook_secret: secret });
  assert.equal(ok.status, 200, ok.describe());
  const shown = okJson(await w.t.admin.getTenant(w.t.slug));
  assert.ok(!JSON.stringify(shown).includes(secret), `the webhook secret is never returned: ${JSON.stringify(shown)}`);

  const params = bcParams(w.person, { binding_message: 'refund order 1234 for ACME' });
  const req = await bcAuthorize(w.t, w.agent, params);
  const got = await rx.wait((e) => e.body.includes(req.auth_req_id), 15000, 'the approval webhook');
  assert.equal(got.method, 'POST');
  assert.match(got.headers['content-type'] || '', /^application\/json/);
  verifyWebhookSignature(got, secret);
  assert.throws(() => verifyWebhookSignature(got, 'not-the-secret'), /HMAC/, 'the signature does not verify under another secret');
  const body = JSON.parse(got.body);
  assert.equal(body.auth_req_id, req.auth_req_id, got.body);
  assert.equal(body.binding_message, params.binding_message, `the webhook carries the task: ${got.body}`);
  assert.ok(rx.all.length >= 2, `the first (500) attempt was retried: ${rx.all.map((e) => e.answered)}`);

  // the approval system acts on it
  await mustDecide(w.t, await w.approver.token(), req.auth_req_id, 'approve', w.person.username);
  const tokens = await pollTokens(w.t, w.agent, req.auth_req_id);
  assert.equal(jose.decodeJwt(tokens.access_token).sub, w.person.id);
  const row = await auditRow(w.t, 'session.notified', (r) => r.details?.channel === 'webhook', 3000);
  assert.equal(row.outcome, 'success', JSON.stringify(row));
});
