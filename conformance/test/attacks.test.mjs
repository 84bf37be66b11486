// Issue 3 (d): attacks on the code flow (SPEC §4.1, §4.2, §5, §6, OAuth 2.1,
// RFC 9700 "OAuth 2.0 Security Best Current Practice"). Each test names the
// attack; a failure message names the request, what was expected and what
// came back.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { createTenant, RESOURCE } from '../lib/fixture.mjs';
import {
  createUser,
  createCodeClient,
  authorize,
  authorizationRequest,
  redeem,
  redeemRaw,
  refresh,
  refreshRaw,
  personTokens,
  introspect,
  expectInactive,
  consents,
  auditEvents,
  REDIRECT_URI,
} from '../lib/codeflow.mjs';
import { assertOAuthError } from '../lib/checks.mjs';
import { Admin } from '../lib/admin.mjs';
import { UserAgent, drive, callbackMatcher, describeTrail, isRedirect, locationOf, parseForms, findLoginForm, pageText } from '../lib/useragent.mjs';

const BOTH = 'tools:read tools:call';

let t;
let client;
let alice;
before(async () => {
  t = await createTenant('atk');
  client = await createCodeClient(t, { client_name: 'Attacked App' });
  alice = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
});

/** Drive a request that must come back to the client as an error redirect (signing in if the server asks first). */
async function expectErrorRedirect(req, error, person = alice) {
  const res = await drive(new UserAgent(), req.url, {
    isCallback: callbackMatcher(req.redirectUri),
    username: person.username,
    password: person.password,
  });
  assert.equal(res.kind, 'callback', `${req.url} should be answered by a redirect to ${req.redirectUri} with error=${error}; got ${res.kind}:\n    ${describeTrail(res)}`);
  const q = res.callback.searchParams;
  assert.equal(q.get('error'), error, `error redirect: ${res.callback.href}`);
  assert.equal(q.get('code'), null, `no code with an error: ${res.callback.href}`);
  assert.equal(q.get('state'), req.state, `state is passed back with the error: ${res.callback.href}`);
  assert.equal(q.get('iss'), t.issuer, `iss (RFC 9207) with the error: ${res.callback.href}`);
  assert.equal(res.pages.consent, null, 'no consent page for an invalid request');
  return res;
}

/** Drive a request that must NOT redirect anywhere: an error page on the authorization server. */
async function expectErrorPage(url, forbiddenTarget) {
  const forbidden = callbackMatcher(forbiddenTarget);
  const res = await drive(new UserAgent(), url, {
    isCallback: forbidden,
    username: alice.username,
    password: alice.password,
  });
  assert.notEqual(res.kind, 'callback', `no redirect may go to ${forbiddenTarget}:\n    ${describeTrail(res)}`);
  assert.notEqual(res.kind, 'external', `no redirect may leave the authorization server:\n    ${describeTrail(res)}`);
  for (const r of res.trail) {
    const loc = r.header('location');
    if (loc) assert.ok(!forbidden(new URL(loc, r.url)), `no Location header to ${forbiddenTarget}: ${r.describe()}`);
  }
  assert.equal(res.kind, 'page', `an error page is shown:\n    ${describeTrail(res)}`);
  assert.ok(res.res.status >= 400 && res.res.status < 500, `the error page has a 4xx status:\n    ${describeTrail(res)}`);
  assert.equal(res.pages.consent, null, 'no consent page');
  return res;
}

test('no PKCE: redirected with error=invalid_request (PKCE is mandatory, OAuth 2.1)', async () => {
  const req = await authorizationRequest(t, client, { scope: 'tools:read', pkce: false });
  assert.equal(req.url.searchParams.get('code_challenge'), null);
  await expectErrorRedirect(req, 'invalid_request');
});

test('code_challenge_method=plain: redirected with error=invalid_request (S256 only)', async () => {
  const req = await authorizationRequest(t, client, { scope: 'tools:read', method: 'plain' });
  await expectErrorRedirect(req, 'invalid_request');
});

test('a code_challenge without code_challenge_method is not taken as plain: invalid_request', async () => {
  // RFC 7636 §4.3 defaults a missing method to plain, which authz does not allow.
  const req = await authorizationRequest(t, client, { scope: 'tools:read', params: { code_challenge_method: null } });
  await expectErrorRedirect(req, 'invalid_request');
});

test('response_type other than code: redirected with unsupported_response_type', async () => {
  const req = await authorizationRequest(t, client, { scope: 'tools:read', params: { response_type: 'token' } });
  await expectErrorRedirect(req, 'unsupported_response_type');
});

test('unregistered redirect URI: no redirect happens, an error page is shown', async () => {
  const evil = 'https://attacker.example.test/callback';
  const cases = [
    evil,
    `${REDIRECT_URI}/extra`, // path extension
    `${REDIRECT_URI}?next=https://attacker.example.test/`, // added query
    REDIRECT_URI.replace('https://', 'http://'), // scheme downgrade
    REDIRECT_URI.replace('app.example.test', 'app.example.test:8443'), // port change on a non-loopback host
    REDIRECT_URI.replace('app.example.test', 'APP.example.test.attacker.example.test'),
  ];
  for (const uri of cases) {
    const req = await authorizationRequest(t, client, { scope: 'tools:read', redirectUri: uri });
    await expectErrorPage(req.url, uri);
  }
});

test('unknown client_id or missing redirect_uri: an error page, no redirect', async () => {
  const req = await authorizationRequest(t, client, { scope: 'tools:read', params: { client_id: 'no-such-client' } });
  await expectErrorPage(req.url, REDIRECT_URI);
  const req2 = await authorizationRequest(t, client, { scope: 'tools:read', params: { client_id: null } });
  await expectErrorPage(req2.url, REDIRECT_URI);
});

test('loopback redirect URI: only the port may differ, not the path or the host', async () => {
  const native = await createCodeClient(t, { client_name: 'Native App', redirect_uris: ['http://127.0.0.1/cb'] });
  for (const uri of ['http://127.0.0.1:50123/other', 'http://localhost:50123/cb', 'http://127.0.0.2:50123/cb']) {
    const req = await authorizationRequest(t, native, { scope: 'tools:read', redirectUri: uri });
    await expectErrorPage(req.url, uri);
  }
});

test('code replay: the second redemption is invalid_grant AND every token issued from the code is revoked', async () => {
  const auth = await authorize(t, client, alice, { scope: BOTH, resource: RESOURCE });
  const first = await redeem(t, client, auth);
  const code = auth.callback.searchParams.get('code');
  const active = await introspect(t, client, first.access_token);
  assert.equal(active.active, true, `before the replay the token is active: ${JSON.stringify(active)}`);

  const second = await redeemRaw(t, client, { code, redirectUri: auth.redirectUri, verifier: auth.verifier });
  assertOAuthError(second, { status: 400, error: 'invalid_grant' });

  await expectInactive(t, client, first.access_token, 'the access token of the first redemption, after the code was replayed');
  assertOAuthError(await refreshRaw(t, client, first.refresh_token), { status: 400, error: 'invalid_grant' });
  const rows = await auditEvents(t, { event: 'code.replay_detected' });
  assert.ok(rows.length >= 1, 'a code.replay_detected audit row');
});

test('refresh token reuse: invalid_grant, and the whole family dies (newest refresh token and its access token)', async () => {
  const { tokens } = await personTokens(t, client, alice, { scope: BOTH, resource: RESOURCE });
  const r1 = await refresh(t, client, tokens.refresh_token);
  const r2 = await refresh(t, client, r1.refresh_token);
  const a2 = await introspect(t, client, r2.access_token);
  assert.equal(a2.active, true, `before the reuse the newest access token is active: ${JSON.stringify(a2)}`);

  // The attacker (or a confused client) presents an already rotated token.
  const reuse = await refreshRaw(t, client, tokens.refresh_token);
  assertOAuthError(reuse, { status: 400, error: 'invalid_grant' });

  // The newest refresh token of the family is rejected too ...
  assertOAuthError(await refreshRaw(t, client, r2.refresh_token), { status: 400, error: 'invalid_grant' });
  // ... and every access token of the family is inactive.
  await expectInactive(t, client, r2.access_token, 'newest access token of a family whose refresh token was reused');
  await expectInactive(t, client, r1.access_token, 'middle access token of the family');
  await expectInactive(t, client, tokens.access_token, 'first access token of the family');
  const rinfo = await introspect(t, client, r2.refresh_token);
  assert.equal(rinfo.active, false, `newest refresh token inactive at introspection: ${JSON.stringify(rinfo)}`);
  const rows = await auditEvents(t, { event: 'refresh.reuse_detected' });
  assert.ok(rows.length >= 1, 'a refresh.reuse_detected audit row');
});

test('one refresh token presented many times at once: at most one answer carries tokens, and the family dies', async () => {
  // Rotations are group-committed: the copies may land in one batch or in
  // several; either way only one of them may rotate the token, and every
  // other copy is a reuse that revokes the family (RFC 9700 §4.14.2).
  const { tokens } = await personTokens(t, client, alice, { scope: BOTH, resource: RESOURCE });
  const before = (await auditEvents(t, { event: 'refresh.reuse_detected' })).length;
  const answers = await Promise.all(Array.from({ length: 12 }, () => refreshRaw(t, client, tokens.refresh_token)));
  const ok = answers.filter((a) => a.status === 200);
  const statuses = answers.map((a) => a.status).join(',');
  assert.ok(ok.length <= 1, `at most one of 12 concurrent uses succeeds; statuses ${statuses}`);
  for (const a of answers.filter((a) => a.status !== 200)) assertOAuthError(a, { status: 400, error: 'invalid_grant' });
  if (ok.length === 1) {
    // The winner's tokens belong to the family the losers revoked.
    assertOAuthError(await refreshRaw(t, client, ok[0].json.refresh_token), { status: 400, error: 'invalid_grant' });
    await expectInactive(t, client, ok[0].json.access_token, 'access token of the one concurrent refresh that rotated');
  }
  await expectInactive(t, client, tokens.access_token, 'first access token of a family reused concurrently');
  const after = (await auditEvents(t, { event: 'refresh.reuse_detected' })).length;
  assert.ok(after > before, `a refresh.reuse_detected audit row (before ${before}, after ${after})`);
  // Exactly one token.refreshed row per successful answer for this family.
  const refreshed = (await auditEvents(t, { event: 'token.refreshed' })).filter((e) => ok.some((a) => (e.details?.jti ?? '') === jose.decodeJwt(a.json.access_token).jti));
  assert.equal(refreshed.length, ok.length, `one token.refreshed row per 200 (rows ${refreshed.length}, 200s ${ok.length})`);
});

test('many families refreshed at once: every answer is a fresh pair that works once', async () => {
  const families = [];
  for (let i = 0; i < 6; i++) families.push((await personTokens(t, client, alice, { scope: BOTH, resource: RESOURCE })).tokens);
  const answers = await Promise.all(families.map((f) => refreshRaw(t, client, f.refresh_token)));
  for (const a of answers) assert.equal(a.status, 200, `each family's concurrent refresh succeeds: ${a.status} ${a.text}`);
  const second = await Promise.all(answers.map((a) => refresh(t, client, a.json.refresh_token)));
  for (const s of second) assert.ok(s.access_token && s.refresh_token, 'the rotated token works once more');
  const infos = await Promise.all(second.map((s) => introspect(t, client, s.access_token)));
  for (const i of infos) assert.equal(i.active, true, `newest access token active: ${JSON.stringify(i)}`);
});

test('wrong or missing code_verifier: invalid_grant, no tokens', async () => {
  const auth = await authorize(t, client, alice, { scope: 'tools:read', resource: RESOURCE });
  const code = auth.callback.searchParams.get('code');
  const wrong = await redeemRaw(t, client, { code, redirectUri: auth.redirectUri, verifier: `${auth.verifier.slice(0, -4)}AAAA` });
  assertOAuthError(wrong, { status: 400, error: 'invalid_grant' });

  const auth2 = await authorize(t, client, alice, { scope: 'tools:read', resource: RESOURCE });
  const missing = await redeemRaw(t, client, { code: auth2.callback.searchParams.get('code'), redirectUri: auth2.redirectUri });
  assertOAuthError(missing, { status: 400, error: ['invalid_grant', 'invalid_request'] });
});

test('a code is bound to its client and its redirect URI', async () => {
  const other = await createCodeClient(t, { client_name: 'Other App' });
  const auth = await authorize(t, client, alice, { scope: 'tools:read', resource: RESOURCE });
  const code = auth.callback.searchParams.get('code');
  const stolen = await redeemRaw(t, other, { code, redirectUri: auth.redirectUri, verifier: auth.verifier });
  assertOAuthError(stolen, { status: 400, error: 'invalid_grant' });

  const auth2 = await authorize(t, client, alice, { scope: 'tools:read', resource: RESOURCE });
  const wrongUri = await redeemRaw(t, client, {
    code: auth2.callback.searchParams.get('code'),
    redirectUri: 'https://app.example.test/other',
    verifier: auth2.verifier,
  });
  assertOAuthError(wrongUri, { status: 400, error: 'invalid_grant' });
});

test('a refresh token is bound to its client', async () => {
  const other = await createCodeClient(t, { client_name: 'Refresh Thief App' });
  const { tokens } = await personTokens(t, client, alice, { scope: 'tools:read', resource: RESOURCE });
  assertOAuthError(await refreshRaw(t, other, tokens.refresh_token), { status: 400, error: 'invalid_grant' });
});

test('a client_name with HTML is shown as text on the consent page, never as markup (XSS)', async () => {
  const name = '<img src=x onerror=alert(1)><script>alert(2)</script>"Evil" & Co';
  const c = await createCodeClient(t, { client_name: name });
  const erin = await createUser(t, { scopes: ['tools:read'] });
  const auth = await authorize(t, c, erin, { scope: 'tools:read', resource: RESOURCE, stopAt: 'consent' });
  const html = auth.result.res.text;
  assert.ok(!/<img src=x/i.test(html) && !html.includes('<script>alert(2)'), `the client's name is escaped: ${html.slice(0, 2000)}`);
  assert.ok(pageText(html).includes(name), `the consent page shows the name as text: ${pageText(html).slice(0, 500)}`);
});

test('session fixation: a session cookie planted before sign-in is replaced at sign-in and never becomes a session', async () => {
  // Learn the session cookie's name the way an attacker would: sign in once.
  const probeUa = new UserAgent();
  const probe = await authorize(t, client, alice, { scope: 'tools:read', resource: RESOURCE, ua: probeUa, stopAt: 'consent' });
  const jar = probeUa.jar.list();
  // The session cookie: named like one, else the SameSite=Lax one, else any.
  const session = jar.find((c) => /sess/i.test(c.name)) ?? jar.find((c) => /^lax$/i.test(c.sameSite || '')) ?? jar[0];
  assert.ok(session, `signing in sets a cookie: ${JSON.stringify(jar.map((c) => c.name))}`);

  // The attacker plants a value of the same shape in the victim's browser.
  const planted = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255)).toString('base64url');
  const victim = await createUser(t, { scopes: ['tools:read'] });
  const ua = new UserAgent();
  ua.jar.store(t.issuer + '/', [`${session.name}=${planted}; Path=${session.path}`]);
  const auth = await authorize(t, client, victim, { scope: 'tools:read', resource: RESOURCE, ua, stopAt: 'consent' });
  assert.ok(auth.result.pages.login, 'the planted value is no session: the victim is asked to sign in');
  const after = ua.jar.list().find((c) => c.name === session.name);
  assert.ok(after && after.value !== planted, `the session cookie is replaced at sign-in (planted ${planted}, now ${after?.value})`);

  // The attacker's copy of the planted value gives nothing.
  const attacker = new UserAgent();
  attacker.jar.store(t.issuer + '/', [`${session.name}=${planted}; Path=${session.path}`]);
  const req = await authorizationRequest(t, client, { scope: 'tools:read', resource: RESOURCE });
  const res = await drive(attacker, req.url, { isCallback: callbackMatcher(req.redirectUri), stopAt: 'login' });
  assert.equal(res.kind, 'stopped', `the planted cookie does not sign the attacker in as the victim:\n    ${describeTrail(res)}`);
});

test('open redirect through the sign-in form: tampered hidden fields never send the browser off the server', async () => {
  const targets = ['https://attacker.example.test/', '//attacker.example.test/', '/\\attacker.example.test/', 'javascript:alert(1)'];
  for (const target of targets) {
    const req = await authorizationRequest(t, client, { scope: 'tools:read', resource: RESOURCE });
    const ua = new UserAgent();
    const stop = await drive(ua, req.url, { isCallback: callbackMatcher(req.redirectUri), stopAt: 'login' });
    assert.equal(stop.kind, 'stopped', describeTrail(stop));
    const overrides = { username: alice.username, password: alice.password };
    for (const i of stop.form.inputs) {
      if (i.type === 'hidden' && i.name && i.name !== 'csrf_token') overrides[i.name] = target;
    }
    let res = await ua.submit(stop.form, overrides);
    for (let k = 0; k < 6; k++) {
      assert.ok(res.status < 500, res.describe());
      if (!isRedirect(res)) break;
      const loc = locationOf(res);
      assert.equal(loc.origin, new URL(t.issuer).origin, `sign-in with hidden fields set to ${target} must not redirect off the server: ${res.describe()}`);
      assert.ok(loc.protocol === 'http:' || loc.protocol === 'https:', `no ${loc.protocol} redirect: ${res.describe()}`);
      if (callbackMatcher(req.redirectUri)(loc)) break;
      res = await ua.get(loc.href);
    }
  }
});

test('consent POST without its csrf_token (or with a wrong one): 403, no code issued, no consent stored', async () => {
  const dave = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const c = await createCodeClient(t, { client_name: 'CSRF Target App' });
  const auth = await authorize(t, c, dave, { scope: BOTH, resource: RESOURCE, stopAt: 'consent' });
  const { form, res: page } = auth.result;
  assert.ok(form.input('csrf_token'), `the consent form carries a hidden csrf_token: ${pageText(page.text).slice(0, 300)}`);
  const approve = form.button('decision', 'approve');
  assert.ok(approve, 'the consent form has decision=approve');

  for (const [label, values] of [
    ['without csrf_token', { csrf_token: null }],
    ['with a wrong csrf_token', { csrf_token: 'forged-csrf-token-value' }],
    ['with an empty csrf_token', { csrf_token: '' }],
  ]) {
    const res = await auth.ua.submit(form, values, approve);
    assert.equal(res.status, 403, `consent POST ${label} must be refused with 403: ${res.describe()}`);
    const loc = res.header('location');
    assert.ok(!loc || !/[?&]code=/.test(loc), `no code is issued on a consent POST ${label}: ${res.describe()}`);
  }
  assert.deepEqual(await consents(t, { user: dave.id, client: c.client_id }), [], 'no consent was stored by the forged POSTs');

  // A cross-site POST from another browser session (the attacker's own cookies) fails too.
  const attacker = new UserAgent();
  const res = await attacker.post(form.action, form.pairs({}, approve), { headers: { Origin: 'https://attacker.example.test' } });
  assert.ok(res.status >= 400 && res.status < 500, `consent POST without the victim's session: 4xx, got ${res.describe()}`);
  assert.ok(!(res.header('location') || '').includes('code='), 'no code');

  // The same signed-in session, a fresh consent form, submitted as it is: a code.
  const fresh = await authorize(t, c, dave, { scope: BOTH, resource: RESOURCE, ua: auth.ua, stopAt: 'consent' });
  const ok = await auth.ua.submit(fresh.result.form, {}, fresh.result.form.button('decision', 'approve'));
  assert.ok(isRedirect(ok), `the genuine consent POST redirects: ${ok.describe()}`);
  const loc = locationOf(ok);
  assert.ok(callbackMatcher(auth.redirectUri)(loc) && loc.searchParams.get('code'), `the genuine consent POST yields a code: ${loc.href}`);
});

test('sign-in POST without its csrf_token: refused, no session', async () => {
  const req = await authorizationRequest(t, client, { scope: 'tools:read', resource: RESOURCE });
  const ua = new UserAgent();
  const stop = await drive(ua, req.url, { isCallback: callbackMatcher(req.redirectUri), stopAt: 'login' });
  assert.equal(stop.kind, 'stopped', describeTrail(stop));
  const form = stop.form;
  assert.ok(form.input('csrf_token'), 'the sign-in form carries a hidden csrf_token');
  const res = await ua.submit(form, { username: alice.username, password: alice.password, csrf_token: null });
  assert.ok(res.status === 403 || res.status === 400, `sign-in POST without csrf_token: 403 (or 400), got ${res.describe()}`);
  // Not signed in: the authorization request still asks for the password.
  const again = await ua.get(req.url.href);
  let page = again;
  for (let i = 0; i < 5 && isRedirect(page); i++) {
    const loc = locationOf(page);
    assert.ok(!callbackMatcher(req.redirectUri)(loc), `no code without a sign-in: ${page.describe()}`);
    page = await ua.get(loc.href);
  }
  assert.ok(findLoginForm(parseForms(page.text, page.url)), `still asked to sign in: ${page.describe()}`);
});

test('password guessing beyond the limit: 429 with Retry-After, and then even the right password is refused', async () => {
  // Its own tenant, so the per-source limit cannot touch the other tests.
  const g = await createTenant('guess');
  const victim = await createUser(g, { scopes: ['tools:read'] });
  const c = await createCodeClient(g, { client_name: 'Guessed App' });
  const req = await authorizationRequest(g, c, { scope: 'tools:read', resource: RESOURCE });
  const ua = new UserAgent();
  const stop = await drive(ua, req.url, { isCallback: callbackMatcher(req.redirectUri), stopAt: 'login' });
  assert.equal(stop.kind, 'stopped', describeTrail(stop));
  let form = stop.form;
  let limited = null;
  const statuses = [];
  const MAX = 50;
  for (let i = 0; i < MAX && !limited; i++) {
    const res = await ua.submit(form, { username: victim.username, password: `wrong-guess-${i}` });
    statuses.push(res.status);
    assert.ok(res.status < 500, `a wrong password is never a 5xx: ${res.describe()}`);
    if (res.status === 429) {
      limited = res;
      break;
    }
    // Keep using a fresh form when the server re-renders one (new csrf token).
    let page = res;
    for (let k = 0; k < 5 && isRedirect(page); k++) page = await ua.get(locationOf(page).href);
    const again = findLoginForm(parseForms(page.text, page.url));
    if (again) form = again;
  }
  assert.ok(limited, `sign-in attempts are limited: ${MAX} wrong passwords never got 429 (statuses: ${statuses.join(',')})`);
  const ra = limited.header('retry-after');
  assert.ok(ra && (/^\d+$/.test(ra.trim()) ? Number(ra) > 0 : !Number.isNaN(Date.parse(ra))), `429 carries Retry-After: ${limited.describe()}\n  Retry-After: ${ra}`);

  const right = await ua.submit(form, { username: victim.username, password: victim.password });
  assert.equal(right.status, 429, `while limited, even the right password gets 429 (the limit must not be a password oracle): ${right.describe()}`);
  const loc = right.header('location') || '';
  assert.ok(!loc.includes('code='), 'no code while limited');

  const failed = await auditEvents(g, { event: 'signin.failed' });
  assert.ok(failed.length >= 1, 'signin.failed audit rows');
  assert.ok(!JSON.stringify(failed).includes('wrong-guess-'), 'guessed passwords are not in the audit');
});

test("a token of tenant A presented to tenant B: inactive at B's introspection, useless at B's token endpoint, 404 at B's admin API", async () => {
  const b = await createTenant('atkb'); // has the same RESOURCE URI registered
  const bClient = await createCodeClient(b, { client_name: 'Tenant B App' });
  const { tokens } = await personTokens(t, client, alice, { scope: BOTH, resource: RESOURCE });
  assert.deepEqual(jose.decodeJwt(tokens.access_token).aud, RESOURCE);

  // Introspection at B, by B's clients: not active.
  const intro = await introspect(b, bClient, tokens.access_token);
  assert.deepEqual(intro, { active: false }, "tenant A's access token at tenant B's introspection");
  const intro2 = await introspect(b, { ...b.clients.basic, token_endpoint_auth_method: 'client_secret_basic' }, tokens.access_token);
  assert.equal(intro2.active, false);
  const rintro = await introspect(b, bClient, tokens.refresh_token);
  assert.equal(rintro.active, false, "tenant A's refresh token at tenant B's introspection");

  // A's refresh token and A's code at B's token endpoint.
  assertOAuthError(await refreshRaw(b, bClient, tokens.refresh_token), { status: 400, error: 'invalid_grant' });
  const auth2 = await authorize(t, client, alice, { scope: 'tools:read', resource: RESOURCE });
  const code = auth2.callback.searchParams.get('code');
  assertOAuthError(await redeemRaw(b, bClient, { code, redirectUri: auth2.redirectUri, verifier: auth2.verifier }), {
    status: 400,
    error: 'invalid_grant',
  });

  // A's client credentials at B: unknown client.
  const cross = await redeemRaw(b, client, { code, redirectUri: auth2.redirectUri, verifier: auth2.verifier });
  assertOAuthError(cross, { status: 401, error: 'invalid_client' });

  // A tenant-admin token of A (scope admin) and A's person token at B's admin API: 404.
  const adminA = new Admin(await t.accessToken(t.clients.basic, { scope: 'admin' }));
  const r1 = await adminA.getTenant(b.slug);
  assert.equal(r1.status, 404, `tenant A's admin token at tenant B's admin API: ${r1.describe()}`);
  const r2 = await new Admin(tokens.access_token).getTenant(b.slug);
  assert.equal(r2.status, 404, `tenant A's person token at tenant B's admin API: ${r2.describe()}`);
  // And the person token is no admin token at A either (no admin scope, aud is a resource).
  const r3 = await new Admin(tokens.access_token).getTenant(t.slug);
  assert.ok(r3.status === 401 || r3.status === 403 || r3.status === 404, `a person's resource token at the admin API of its own tenant: ${r3.describe()}`);
});
