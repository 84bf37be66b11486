// Issue 3 (b): oauth4webapi runs a strict authorization code flow with a
// confidential (admin-created, client_secret_basic) client: its
// authorization-response (state, RFC 9207 iss), token-response and
// introspection validators must pass. Then refresh rotation, introspection,
// revocation, consent storage and the person's scope bound (SPEC §4.1, §4.2,
// §5, §7, §8).

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { createTenant, RESOURCE, OTHER_RESOURCE } from '../lib/fixture.mjs';
import {
  createUser,
  createCodeClient,
  authorize,
  authorizationRequest,
  validateCallback,
  redeem,
  personTokens,
  refresh,
  refreshRaw,
  redeemRaw,
  introspect,
  revoke,
  expectInactive,
  consents,
  withdrawConsent,
  auditEvents,
  callbackParams,
} from '../lib/codeflow.mjs';
import { assertOAuthError, audList, scopeSet, assertStatus, assertJsonContentType, assertNoStore } from '../lib/checks.mjs';
import { postForm } from '../lib/http.mjs';
import { UserAgent, drive, callbackMatcher, describeTrail, pageText } from '../lib/useragent.mjs';

const BOTH = 'tools:read tools:call';

let t;
let client; // confidential, client_secret_basic
let alice; // tools:read tools:call
before(async () => {
  t = await createTenant('cfs');
  client = await createCodeClient(t, { client_name: 'Strict Web App' });
  alice = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
});

function sorted(scope) {
  return [...scopeSet(scope)].sort();
}

test('discovery advertises the code flow as SPEC §2 says', () => {
  const as = t.as;
  for (const k of ['authorization_endpoint', 'token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'registration_endpoint', 'jwks_uri']) {
    assert.equal(typeof as[k], 'string', `metadata has ${k}`);
  }
  assert.deepEqual(as.response_types_supported, ['code']);
  assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
  assert.equal(as.authorization_response_iss_parameter_supported, true);
  for (const g of ['authorization_code', 'refresh_token']) assert.ok(as.grant_types_supported.includes(g), `grant_types_supported has ${g}`);
});

test('strict code flow: sign-in, consent, validateAuthResponse (state + iss), PKCE redemption, RFC 9068 token', async () => {
  const auth = await authorize(t, client, alice, { scope: BOTH, resource: RESOURCE });
  assert.ok(auth.result.pages.login, 'the sign-in page was shown');
  assert.ok(auth.result.pages.consent, 'the consent page was shown (first time for this client)');
  const cb = callbackParams(auth.callback);
  assert.equal(cb.iss, t.issuer, `RFC 9207 iss in the authorization response: ${auth.callback.href}`);
  assert.equal(cb.state, auth.state, 'state is passed back');
  assert.equal(typeof cb.code, 'string');
  assert.ok(cb.code.length >= 20, `the code has enough entropy: ${cb.code}`);

  const params = validateCallback(t, client, auth); // throws on a missing/wrong iss or state
  const tokens = await redeem(t, client, auth, { params });
  assert.match(tokens.token_type, /^bearer$/i);
  assert.equal(typeof tokens.access_token, 'string');
  assert.equal(typeof tokens.refresh_token, 'string', 'a refresh token is issued to a client with the refresh_token grant');
  assert.ok(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0 && tokens.expires_in <= 300, `expires_in: ${tokens.expires_in}`);
  assert.deepEqual(sorted(tokens.scope), sorted(BOTH), `token response scope: ${tokens.scope}`);
  assert.equal(tokens.id_token, undefined, 'no ID token: authz is not an OpenID Provider');

  const { payload: p, protectedHeader: h } = await t.verify(tokens.access_token, { audience: RESOURCE });
  assert.equal(h.typ, 'at+jwt');
  assert.equal(p.iss, t.issuer);
  assert.equal(p.sub, alice.id, `sub is the person's id: ${JSON.stringify(p)}`);
  assert.equal(p.client_id, client.client_id);
  assert.deepEqual(audList(p.aud), [RESOURCE]);
  assert.deepEqual(sorted(p.scope), sorted(BOTH));
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Number.isInteger(p.auth_time) && Math.abs(p.auth_time - now) <= 60, `auth_time (the sign-in) applies to a code-flow token: ${JSON.stringify(p)}`);
  assert.equal(p.act, undefined, 'no act: nobody acts for the person');
});

test('state with reserved characters comes back exactly; the token response is JSON with Cache-Control: no-store', async () => {
  const state = 'a&b=c d/é?#%25+';
  const auth = await authorize(t, client, alice, { scope: 'tools:read', resource: RESOURCE, state });
  assert.equal(auth.callback.searchParams.get('state'), state, `state round trip: ${auth.callback.href}`);
  validateCallback(t, client, auth);
  const res = await redeemRaw(t, client, {
    code: auth.callback.searchParams.get('code'),
    redirectUri: auth.redirectUri,
    verifier: auth.verifier,
  });
  assertStatus(res, 200);
  assertJsonContentType(res);
  assertNoStore(res);
  assert.equal(typeof res.json.access_token, 'string', res.describe());
});

test('refresh rotates on every use (a new refresh token each time) and keeps aud, sub and scope', async () => {
  const { tokens } = await personTokens(t, client, alice, { scope: BOTH, resource: RESOURCE });
  const first = jose.decodeJwt(tokens.access_token);
  let rt = tokens.refresh_token;
  const seen = new Set([rt]);
  const jtis = new Set([first.jti]);
  for (let i = 0; i < 3; i++) {
    const r = await refresh(t, client, rt);
    assert.equal(typeof r.refresh_token, 'string', `refresh #${i + 1} returns a refresh token`);
    assert.ok(!seen.has(r.refresh_token), `refresh #${i + 1} returns a NEW refresh token`);
    seen.add(r.refresh_token);
    rt = r.refresh_token;
    const { payload: p } = await t.verify(r.access_token, { audience: RESOURCE });
    assert.ok(!jtis.has(p.jti), 'each access token has its own jti');
    jtis.add(p.jti);
    assert.equal(p.sub, alice.id);
    assert.equal(p.client_id, client.client_id);
    assert.deepEqual(sorted(p.scope), sorted(BOTH));
    assert.equal(p.auth_time, first.auth_time, 'auth_time is the original sign-in, not the refresh');
  }
});

test('refresh may narrow scope, never widen it (RFC 6749 §6)', async () => {
  const { tokens } = await personTokens(t, client, alice, { scope: 'tools:read', resource: RESOURCE });
  const wider = await refreshRaw(t, client, tokens.refresh_token, [['scope', BOTH]]);
  assertOAuthError(wider, { status: 400, error: 'invalid_scope' });

  const { tokens: t2 } = await personTokens(t, client, alice, { scope: BOTH, resource: RESOURCE });
  const narrow = await refresh(t, client, t2.refresh_token, { scope: 'tools:read' });
  assert.deepEqual(sorted(narrow.scope ?? 'tools:read'), ['tools:read']);
  const p = jose.decodeJwt(narrow.access_token);
  assert.deepEqual(sorted(p.scope), ['tools:read'], `narrowed access token: ${JSON.stringify(p)}`);

  const { tokens: t3 } = await personTokens(t, client, alice, { scope: BOTH, resource: RESOURCE });
  const otherRes = await refreshRaw(t, client, t3.refresh_token, [['resource', OTHER_RESOURCE]]);
  assertOAuthError(otherRes, { status: 400, error: ['invalid_target', 'invalid_grant', 'invalid_scope'] });
});

test('introspection (oauth4webapi): active with iss, sub, client_id, scope, aud, exp, iat, jti, token_type Bearer', async () => {
  const { tokens } = await personTokens(t, client, alice, { scope: BOTH, resource: RESOURCE });
  const claims = jose.decodeJwt(tokens.access_token);
  const info = await introspect(t, client, tokens.access_token, 'access_token');
  const s = JSON.stringify(info);
  assert.equal(info.active, true, s);
  assert.equal(info.iss, t.issuer, s);
  assert.equal(info.sub, alice.id, `sub = the person's user id: ${s}`);
  assert.equal(info.client_id, client.client_id, s);
  assert.deepEqual(sorted(info.scope), sorted(BOTH), s);
  assert.deepEqual(audList(info.aud), [RESOURCE], s);
  assert.equal(info.exp, claims.exp, s);
  assert.equal(info.iat, claims.iat, s);
  assert.equal(info.jti, claims.jti, s);
  assert.equal(info.token_type, 'Bearer', s);

  // Its refresh token, by its own client.
  const rinfo = await introspect(t, client, tokens.refresh_token, 'refresh_token');
  assert.equal(rinfo.active, true, `the refresh token, introspected by its own client: ${JSON.stringify(rinfo)}`);
  assert.equal(rinfo.client_id, client.client_id);
  assert.equal(rinfo.sub, alice.id);

  // Another client of the tenant, neither the token's client nor an introspector of RESOURCE.
  const stranger = { ...t.clients.basic, token_endpoint_auth_method: 'client_secret_basic' };
  const other = await introspect(t, stranger, tokens.access_token);
  assert.deepEqual(other, { active: false }, 'a client learns nothing about tokens that are not its business');
  const otherRt = await introspect(t, stranger, tokens.refresh_token);
  assert.equal(otherRt.active, false, "another client cannot introspect this client's refresh token");

  // Garbage is simply inactive.
  const junk = await introspect(t, client, 'not-a-token');
  assert.equal(junk.active, false);
});

test('revocation (RFC 7009): access token inactive, refresh token dead, unknown token 200', async () => {
  const { tokens } = await personTokens(t, client, alice, { scope: BOTH, resource: RESOURCE });
  await revoke(t, client, tokens.access_token, 'access_token');
  await expectInactive(t, client, tokens.access_token, 'revoked access token');

  await revoke(t, client, tokens.refresh_token, 'refresh_token');
  const r = await refreshRaw(t, client, tokens.refresh_token);
  assertOAuthError(r, { status: 400, error: 'invalid_grant' });
  const rinfo = await introspect(t, client, tokens.refresh_token);
  assert.equal(rinfo.active, false, `revoked refresh token: ${JSON.stringify(rinfo)}`);

  await revoke(t, client, 'unknown-token-value-0123456789'); // processRevocationResponse demands 200
  const raw = await postForm(t.as.revocation_endpoint, [['token', 'unknown-token-value-abcdef']], { basic: [client.client_id, client.client_secret] });
  assertStatus(raw, 200);
});

test('consent denied: redirected with error=access_denied, state and iss, no code', async () => {
  const bob = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const auth = await authorize(t, client, bob, { scope: BOTH, decision: 'deny' });
  const cb = callbackParams(auth.callback);
  assert.equal(cb.error, 'access_denied', `callback: ${auth.callback.href}`);
  assert.equal(cb.state, auth.state);
  assert.equal(cb.iss, t.issuer);
  assert.equal(cb.code, undefined);
  assert.throws(() => oauth.validateAuthResponse(t.as, { client_id: client.client_id }, auth.callback, auth.state), (e) => e.error === 'access_denied');
  assert.deepEqual(await consents(t, { user: bob.id, client: client.client_id }), [], 'a denial stores no consent');
});

test('consent is stored and not asked again for a subset in a later browser session; withdrawing it revokes what it granted', async () => {
  const carol = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const c = await createCodeClient(t, { client_name: 'Consent Memory App' });
  const { auth, tokens } = await personTokens(t, c, carol, { scope: BOTH, resource: RESOURCE });
  assert.ok(auth.result.pages.consent, 'first time: consent asked');

  const list = await consents(t, { user: carol.id, client: c.client_id });
  assert.equal(list.length, 1, `one consent row: ${JSON.stringify(list)}`);
  const row = list[0];
  assert.equal(row.client_id, c.client_id);
  assert.equal(row.subject, carol.id);
  assert.equal(row.username, carol.username);
  assert.deepEqual([...row.scopes].sort(), sorted(BOTH));
  assert.deepEqual(row.resources, [RESOURCE]);

  // A new browser session (fresh cookie jar), a subset: sign-in yes, consent no.
  const again = await authorize(t, c, carol, { scope: 'tools:read', resource: RESOURCE, ua: new UserAgent() });
  assert.ok(again.result.pages.login, 'a new browser session signs in again');
  assert.equal(again.result.pages.consent, null, `no consent page for a subset of the stored consent:\n    ${describeTrail(again.result)}`);
  const sub = await redeem(t, c, again);
  assert.deepEqual(sorted(sub.scope), ['tools:read']);

  // Withdraw (admin API): tokens granted under it become inactive, consent is asked again.
  const del = await withdrawConsent(t, { user: carol.id, client: c.client_id });
  assertStatus(del, [200, 204]);
  assert.deepEqual(await consents(t, { user: carol.id, client: c.client_id }), []);
  await expectInactive(t, c, tokens.access_token, 'access token granted under a withdrawn consent');
  await expectInactive(t, c, sub.access_token, 'second access token granted under the withdrawn consent');
  assertOAuthError(await refreshRaw(t, c, tokens.refresh_token), { status: 400, error: 'invalid_grant' });
  const third = await authorize(t, c, carol, { scope: 'tools:read', resource: RESOURCE });
  assert.ok(third.result.pages.consent, 'after withdrawal the consent page is shown again');
});

test("the person's scopes bound what they can grant; the client's allowed_scopes bound what it can hold", async () => {
  const reader = await createUser(t, { scopes: ['tools:read'] });
  const auth = await authorize(t, client, reader, { scope: BOTH, resource: RESOURCE });
  const consentText = pageText(auth.result.pages.consent?.text ?? '');
  assert.ok(!/tools:call/.test(consentText), `the consent page does not offer what the person cannot grant: ${consentText.slice(0, 400)}`);
  const tokens = await redeem(t, client, auth);
  assert.deepEqual(sorted(tokens.scope), ['tools:read'], `a read-only person asking for ${BOTH} gets tools:read`);
  assert.deepEqual(sorted(jose.decodeJwt(tokens.access_token).scope), ['tools:read']);

  const narrowClient = await createCodeClient(t, { client_name: 'Read-only App', allowed_scopes: ['tools:read'] });
  const { tokens: t2 } = await personTokens(t, narrowClient, alice, { scope: BOTH, resource: RESOURCE });
  assert.deepEqual(sorted(t2.scope), ['tools:read'], 'the client ceiling applies too');

  // Nothing of the request left: invalid_scope, redirected.
  const none = await authorizationRequest(t, client, { scope: 'files:read', resource: RESOURCE });
  const res = await drive(new UserAgent(), none.url, { isCallback: callbackMatcher(none.redirectUri), username: reader.username, password: reader.password });
  assert.equal(res.kind, 'callback', describeTrail(res));
  assert.equal(res.callback.searchParams.get('error'), 'invalid_scope', res.callback.href);
});

test('a resource the tenant does not know: invalid_target, redirected with state and iss', async () => {
  const req = await authorizationRequest(t, client, { scope: 'tools:read', resource: 'https://unknown.example.test/api' });
  const res = await drive(new UserAgent(), req.url, { isCallback: callbackMatcher(req.redirectUri), username: alice.username, password: alice.password });
  assert.equal(res.kind, 'callback', describeTrail(res));
  const q = res.callback.searchParams;
  assert.equal(q.get('error'), 'invalid_target', res.callback.href);
  assert.equal(q.get('state'), req.state);
  assert.equal(q.get('iss'), t.issuer);
  assert.equal(q.get('code'), null);
  assert.equal(res.pages.consent, null, 'no consent page for an invalid request');
});

test('loopback redirect URIs: the port may differ (RFC 8252 §7.3), the code is bound to the URI used', async () => {
  const c = await createCodeClient(t, { client_name: 'Native App', redirect_uris: ['http://127.0.0.1/cb'] });
  const used = 'http://127.0.0.1:49321/cb';
  const auth = await authorize(t, c, alice, { scope: 'tools:read', resource: RESOURCE, redirectUri: used });
  assert.equal(auth.callback.origin, 'http://127.0.0.1:49321', 'redirected to the port the client asked for');
  const tokens = await redeem(t, c, auth);
  assert.equal(typeof tokens.access_token, 'string');
});

test('audit rows for the code flow (SPEC §8): sign-in, consent, code, refresh, revocation, withdrawal', async () => {
  const erin = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const c = await createCodeClient(t, { client_name: 'Audited App' });
  const { tokens } = await personTokens(t, c, erin, { scope: BOTH, resource: RESOURCE });
  const r = await refresh(t, c, tokens.refresh_token);
  await revoke(t, c, r.access_token, 'access_token');
  assertStatus(await withdrawConsent(t, { user: erin.id, client: c.client_id }), [200, 204]);

  const want = ['signin.succeeded', 'consent.granted', 'code.issued', 'code.redeemed', 'token.refreshed', 'token.revoked', 'consent.withdrawn'];
  for (const event of want) {
    const rows = (await auditEvents(t, { event, user: erin.id })).filter((x) => event === 'signin.succeeded' || x.client_id === c.client_id);
    assert.ok(rows.length >= 1, `a ${event} row for person ${erin.id} and client ${c.client_id} in tenant ${t.slug}`);
    const row = rows[0];
    assert.equal(row.event, event);
    assert.equal(row.outcome, 'success', `${event}: ${JSON.stringify(row)}`);
    assert.equal(row.subject, erin.id, `${event} names the person: ${JSON.stringify(row)}`);
    const text = JSON.stringify(row);
    for (const secret of [tokens.access_token, tokens.refresh_token, r.refresh_token, erin.password]) {
      assert.ok(!text.includes(secret), `${event} row carries no token or password`);
    }
  }
});
