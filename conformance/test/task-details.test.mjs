// Issue 14: task details (SPEC §12; RFC 9396 rich authorization requests,
// authorization_details of type mcp_tools). A person approves the exact tools
// of a task, at the authorization endpoint (consent page) or for a CIBA
// session (approval page); the details are stored with the consent or the
// session, carried by the access tokens (claim, token response, introspection)
// and only narrowed by refresh and token exchange. From the attacker's side:
// another type, another tenant's resource, a resource the client may not use,
// malformed JSON, empty tools, widening at refresh and exchange: each a 4xx
// invalid_authorization_details (RFC 9396 §5) and nothing stored.
//
// Clients are oauth4webapi's (code flow, CIBA, refresh, introspection,
// exchange); tokens are verified with jose against the tenant's JWKS.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import * as jose from 'jose';
import { createTenant, RESOURCE, OTHER_RESOURCE } from '../lib/fixture.mjs';
import { assertOAuthError, okJson } from '../lib/checks.mjs';
import {
  createUser,
  createCodeClient,
  authorize,
  validateCallback,
  redeem,
  redeemRaw,
  refresh,
  refreshRaw,
  introspect,
  auditEvents,
  callbackParams,
  consents,
} from '../lib/codeflow.mjs';
import { createResourceServer, exchange, exchangeRaw, stPairs, checkExchanged, TT_ACCESS } from '../lib/exchange.mjs';
import {
  createApprover,
  createCibaAgent,
  bcParams,
  bcAuthorize,
  bcAuthorizeRaw,
  mustDecide,
  pollRaw,
  pollTokens,
} from '../lib/ciba.mjs';
import { pageText } from '../lib/useragent.mjs';

const mcp = (location, tools) => ({ type: 'mcp_tools', locations: [location], tools });
const rar = (...entries) => JSON.stringify(entries);

let t;
let other; // another tenant, whose resource URIs are its own
let approver;
let agent;
let alice;
let app; // a code-flow client
let rs;

before(async () => {
  t = await createTenant('rar');
  other = await createTenant('rar-other');
  await other.admin.mustCreateResource(other.slug, { uri: 'https://mcp.other-tenant.test/', scopes: ['tools:read'] });
  approver = await createApprover(t);
  agent = await createCibaAgent(t);
  alice = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  app = await createCodeClient(t);
  rs = await createResourceServer(t, [RESOURCE]);
});

/** The normalized details of one location, as authz carries them. */
function expectDetails(got, location, tools, what) {
  assert.ok(Array.isArray(got), `${what}: authorization_details is an array: ${JSON.stringify(got)}`);
  assert.deepEqual(
    got,
    [{ type: 'mcp_tools', locations: [location], tools: [...tools].sort() }],
    `${what}: authorization_details ${JSON.stringify(got)}`,
  );
}

async function cibaSession(details, o = {}) {
  const req = await bcAuthorize(t, agent, bcParams(alice, { authorization_details: details, ...o }));
  return req;
}

test('metadata lists the one authorization details type (RFC 9396 §10)', () => {
  assert.deepEqual(t.as.authorization_details_types_supported, ['mcp_tools'], JSON.stringify(t.as));
});

// ---------------------------------------------------------------- CIBA

test('CIBA: the task details are shown on the approval page, carried by the session\'s tokens, the token response and introspection', async () => {
  const details = rar(mcp(RESOURCE, ['search_tickets', 'summarise_ticket']));
  const req = await cibaSession(details);

  // the approval page of the signed-in person lists the tools, on which server
  const auth = await authorize(t, app, alice, { scope: 'tools:read' });
  const page = await auth.ua.get(`${t.issuer}/approvals/${encodeURIComponent(req.auth_req_id)}`);
  assert.equal(page.status, 200, `approval page\n  ${page.describe()}`);
  assert.match(page.text, /<ul id="details">/, `the approval page has the task's tool list:\n${page.text.slice(0, 2000)}`);
  const text = pageText(page.text);
  for (const tool of ['search_tickets', 'summarise_ticket']) assert.ok(text.includes(tool), `the page names ${tool}: ${text}`);
  assert.ok(text.includes(RESOURCE), `the page names the server ${RESOURCE}: ${text}`);
  // the list page shows them too
  const list = await auth.ua.get(`${t.issuer}/approvals`);
  assert.ok(pageText(list.text).includes('summarise_ticket'), `the approvals list shows the task's tools`);

  await mustDecide(t, await approver.token(), req.auth_req_id, 'approve', alice.username);
  const res = await pollRaw(t, agent, req.auth_req_id);
  const body = okJson(res, 200);
  // RFC 9396 §7: the token response names the granted details
  expectDetails(body.authorization_details, RESOURCE, ['search_tickets', 'summarise_ticket'], 'token response');
  const { payload } = await t.verify(body.access_token, { audience: RESOURCE });
  expectDetails(payload.authorization_details, RESOURCE, ['search_tickets', 'summarise_ticket'], 'access token claim');
  assert.equal(typeof payload.sid, 'string');
  // RFC 9396 §9.2: introspection answers them
  const i = await introspect(t, rs, body.access_token);
  assert.equal(i.active, true);
  expectDetails(i.authorization_details, RESOURCE, ['search_tickets', 'summarise_ticket'], 'introspection');

  // the session.approved audit row records what was approved
  const rows = await auditEvents(t, { event: 'session.approved' });
  const row = rows.find((r) => r.session_id === payload.sid);
  assert.ok(row, `a session.approved row for ${payload.sid}`);
  expectDetails(row.details.authorization_details, RESOURCE, ['search_tickets', 'summarise_ticket'], 'audit row');

  // the admin API's session list shows what the session was approved for
  const sl = okJson(await t.admin.call('GET', `/tenants/${encodeURIComponent(t.slug)}/sessions?client=${encodeURIComponent(agent.client_id)}`));
  const listed = sl.sessions.find((x) => x.sid === payload.sid);
  assert.ok(listed, `the session ${payload.sid} is listed`);
  expectDetails(listed.authorization_details, RESOURCE, ['search_tickets', 'summarise_ticket'], 'admin session list');
  // RFC 9396 §9.2 for the refresh token too, answered to its own client only
  const ri = await introspect(t, agent, body.refresh_token);
  assert.equal(ri.active, true);
  assert.equal(ri.token_type, 'refresh_token');
  expectDetails(ri.authorization_details, RESOURCE, ['search_tickets', 'summarise_ticket'], 'refresh token introspection');
  assert.equal((await introspect(t, rs, body.refresh_token)).active, false, 'another client learns nothing of the refresh token');

  // refresh: a subset narrows the access token, more is refused, nothing
  // narrows the grant itself
  const r1 = await refresh(t, agent, body.refresh_token, { authorization_details: rar(mcp(RESOURCE, ['search_tickets'])) });
  expectDetails(jose.decodeJwt(r1.access_token).authorization_details, RESOURCE, ['search_tickets'], 'refreshed (narrowed) token');
  expectDetails(r1.authorization_details, RESOURCE, ['search_tickets'], 'refresh response');
  const wide = await refreshRaw(t, agent, r1.refresh_token, [
    ['authorization_details', rar(mcp(RESOURCE, ['search_tickets', 'delete_ticket']))],
  ]);
  assertOAuthError(wide, { status: 400, error: 'invalid_authorization_details' });
  // the refused refresh rotated nothing: the same refresh token still works, with the whole grant
  const r2 = await refresh(t, agent, r1.refresh_token);
  expectDetails(jose.decodeJwt(r2.access_token).authorization_details, RESOURCE, ['search_tickets', 'summarise_ticket'], 'refresh without details');
});

test('CIBA: token exchange only narrows the task details (subset kept, a wider request or another type invalid_authorization_details, a later hop cannot win tools back)', async () => {
  const req = await cibaSession(rar(mcp(RESOURCE, ['read_file', 'write_file'])));
  await mustDecide(t, await approver.token(), req.auth_req_id, 'approve', alice.username);
  const s = await pollTokens(t, agent, req.auth_req_id);
  const actor = await t.accessToken(agent);

  const all = await exchange(t, agent, {
    subject_token: s.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: actor,
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  const allClaims = await checkExchanged(t, all, { audience: RESOURCE });
  expectDetails(allClaims.authorization_details, RESOURCE, ['read_file', 'write_file'], 'exchanged without a request');
  expectDetails(all.authorization_details, RESOURCE, ['read_file', 'write_file'], 'exchange response');

  const narrow = await exchange(t, agent, {
    subject_token: all.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: actor,
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
    authorization_details: rar(mcp(RESOURCE, ['read_file'])),
  });
  const nc = await checkExchanged(t, narrow, { audience: RESOURCE });
  expectDetails(nc.authorization_details, RESOURCE, ['read_file'], 'narrowed by exchange');
  const rows = await auditEvents(t, { event: 'token.exchanged', client: agent.client_id });
  assert.ok(
    rows.some((r) => isDeepStrictEqual(r.details?.authorization_details, [mcp(RESOURCE, ['read_file'])])),
    `the token.exchanged row records the narrowed details: ${JSON.stringify(rows.map((r) => r.details))}`,
  );

  // the narrowed token cannot win back write_file at the next hop
  const back = await exchangeRaw(
    t,
    agent,
    stPairs(narrow.access_token, actor, [
      ['resource', RESOURCE],
      ['authorization_details', rar(mcp(RESOURCE, ['read_file', 'write_file']))],
    ]),
  );
  assertOAuthError(back, { status: 400, error: 'invalid_authorization_details' });
  const widen = await exchangeRaw(
    t,
    agent,
    stPairs(s.access_token, actor, [['resource', RESOURCE], ['authorization_details', rar(mcp(RESOURCE, ['delete_all']))]]),
  );
  assertOAuthError(widen, { status: 400, error: 'invalid_authorization_details' });
  // a type authz does not support, at the token endpoint too
  const odd = await exchangeRaw(
    t,
    agent,
    stPairs(s.access_token, actor, [['resource', RESOURCE], ['authorization_details', '[{"type":"payment_initiation"}]']]),
  );
  assertOAuthError(odd, { status: 400, error: 'invalid_authorization_details' });

  // a later hop without a request keeps what the narrowed token had
  const next = await exchange(t, agent, {
    subject_token: narrow.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: actor,
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  expectDetails((await checkExchanged(t, next, { audience: RESOURCE })).authorization_details, RESOURCE, ['read_file'], 'next hop');
});

test('CIBA: bad task details are a 400 invalid_authorization_details and no request is recorded', async () => {
  const before = (await auditEvents(t, { event: 'session.requested' })).length;
  const bad = [
    ['another type', rar({ type: 'payment_initiation', locations: [RESOURCE], tools: ['x'] })],
    ['no type', rar({ locations: [RESOURCE], tools: ['x'] })],
    ['another tenant\'s resource', rar(mcp('https://mcp.other-tenant.test/', ['x']))],
    ['a resource the agent may not use', rar(mcp(OTHER_RESOURCE, ['x']))],
    ['an unknown resource', rar(mcp('https://unknown.example.test/', ['x']))],
    ['empty tools', rar(mcp(RESOURCE, []))],
    ['an empty tool name', rar(mcp(RESOURCE, ['']))],
    ['a tool name with markup', rar(mcp(RESOURCE, ['<script>alert(1)</script>']))],
    ['tools not strings', rar({ type: 'mcp_tools', locations: [RESOURCE], tools: [1] })],
    ['members other than mcp_tools\'', rar({ type: 'mcp_tools', locations: [RESOURCE], tools: ['x'], actions: ['all'] })],
    ['not JSON', '[{"type":"mcp_tools",'],
    ['an object, not an array', JSON.stringify(mcp(RESOURCE, ['x']))],
    ['an empty array', '[]'],
    ['a repeated member', `[{"type":"mcp_tools","locations":["${RESOURCE}"],"tools":["a"],"tools":["b"]}]`],
    ['too many tools', rar(mcp(RESOURCE, Array.from({ length: 65 }, (_, i) => `t${i}`)))],
    ['longer than 8 KiB (valid JSON padded with spaces)', `${rar(mcp(RESOURCE, ['x']))}${' '.repeat(8200)}`],
    ['a tool name of 129 characters', rar(mcp(RESOURCE, ['x'.repeat(129)]))],
  ];
  for (const [what, details] of bad) {
    const res = await bcAuthorizeRaw(t, agent, bcParams(alice, { authorization_details: details }));
    assertOAuthError(res, { status: 400, error: 'invalid_authorization_details' });
    assert.ok(res.json.error_description, `${what}: the error says what was wrong`);
  }
  const after = (await auditEvents(t, { event: 'session.requested' })).length;
  assert.equal(after, before, 'no refused request was recorded');
});

test('the approval page HTML-escapes what it shows of the task details', async () => {
  const amp = 'https://mcp.example.test/srv?a=1&b=2';
  await t.admin.mustCreateResource(t.slug, { uri: amp, scopes: ['tools:read'] });
  const agent2 = await createCibaAgent(t, { allowed_resources: [RESOURCE, amp] });
  const req = await bcAuthorize(t, agent2, bcParams(alice, { scope: 'tools:read', resource: amp, authorization_details: rar(mcp(amp, ['fs.read'])) }));
  const auth = await authorize(t, app, alice, { scope: 'tools:read' });
  const page = await auth.ua.get(`${t.issuer}/approvals/${encodeURIComponent(req.auth_req_id)}`);
  assert.equal(page.status, 200, page.describe());
  const list = page.text.slice(page.text.indexOf('<ul id="details">'));
  assert.ok(list.includes('srv?a=1&amp;b=2'), `the location is escaped in the tool list: ${list.slice(0, 400)}`);
  assert.ok(!list.includes('a=1&b=2'), 'no unescaped ampersand in the tool list');
});

// ---------------------------------------------------------------- code flow

test('code flow: the consent page lists the tools, the consent keeps them, tokens carry them; more tools ask again', async () => {
  const bob = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const details = rar(mcp(RESOURCE, ['list_issues', 'comment']));
  const first = await authorize(t, app, bob, { params: { authorization_details: details }, stopAt: 'consent' });
  assert.equal(first.result.kind, 'stopped', 'the first request shows the consent page');
  const html = first.result.res.text;
  assert.match(html, /<ul id="details">/, 'the consent page has the task\'s tool list');
  const text = pageText(html);
  assert.ok(text.includes('list_issues') && text.includes('comment'), `the consent page names the tools: ${text}`);
  // approving
  const auth = await authorize(t, app, bob, { params: { authorization_details: details } });
  const tokens = await redeem(t, app, auth);
  expectDetails(tokens.authorization_details, RESOURCE, ['comment', 'list_issues'], 'code token response');
  const claims = (await t.verify(tokens.access_token, { audience: RESOURCE })).payload;
  expectDetails(claims.authorization_details, RESOURCE, ['comment', 'list_issues'], 'code access token');
  expectDetails((await introspect(t, rs, tokens.access_token)).authorization_details, RESOURCE, ['comment', 'list_issues'], 'introspection');
  // the admin API's consent list shows the tools the person approved
  const [stored] = await consents(t, { user: bob.id, client: app.client_id });
  expectDetails(stored.authorization_details, RESOURCE, ['comment', 'list_issues'], 'admin consent list');

  // a subset is within the stored consent: no consent page
  const again = await authorize(t, app, bob, { params: { authorization_details: rar(mcp(RESOURCE, ['comment'])) }, ua: auth.ua });
  assert.equal(again.result.kind, 'callback', 'a subset of the consented tools is not asked again');
  const t2 = await redeem(t, app, again);
  expectDetails(jose.decodeJwt(t2.access_token).authorization_details, RESOURCE, ['comment'], 'a subset request');

  // a new tool: asked again (step-up), and then the consent holds the union
  const more = rar(mcp(RESOURCE, ['close_issue']));
  const ask = await authorize(t, app, bob, { params: { authorization_details: more }, ua: auth.ua, stopAt: 'consent' });
  assert.equal(ask.result.kind, 'stopped', 'a tool outside the consent shows the consent page again');
  const granted = await authorize(t, app, bob, { params: { authorization_details: more }, ua: auth.ua });
  await redeem(t, app, granted);
  const all = await authorize(t, app, bob, {
    params: { authorization_details: rar(mcp(RESOURCE, ['close_issue', 'comment', 'list_issues'])) },
    ua: auth.ua,
  });
  assert.equal(all.result.kind, 'callback', 'the consent now holds the union of both');

  // a code request asking for tools outside its grant is refused
  const a3 = await authorize(t, app, bob, { params: { authorization_details: rar(mcp(RESOURCE, ['comment'])) }, ua: auth.ua });
  const cb = validateCallback(t, app, a3);
  const wide = await redeemRaw(t, app, {
    code: cb.get('code'),
    redirectUri: a3.redirectUri,
    verifier: a3.verifier,
    extra: [['authorization_details', rar(mcp(RESOURCE, ['comment', 'list_issues']))]],
  });
  assertOAuthError(wide, { status: 400, error: 'invalid_authorization_details' });
});

test('code flow: bad task details are redirected as invalid_authorization_details (with iss and state) and no consent is stored', async () => {
  const carol = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  for (const details of [
    rar({ type: 'account_information', locations: [RESOURCE], tools: ['x'] }),
    rar(mcp('https://mcp.other-tenant.test/', ['x'])),
    rar(mcp(OTHER_RESOURCE, ['x'])), // not in the app's allowed_resources
    '{"type":"mcp_tools"}',
  ]) {
    const auth = await authorize(t, app, carol, { params: { authorization_details: details } });
    const p = callbackParams(auth.callback);
    assert.equal(p.error, 'invalid_authorization_details', `error redirect: ${JSON.stringify(p)}`);
    assert.equal(p.state, auth.state);
    assert.equal(p.iss, t.issuer);
    assert.equal(p.code, undefined);
  }
  const rows = await auditEvents(t, { event: 'consent.granted', user: carol.id });
  assert.equal(rows.filter((r) => r.subject === carol.id).length, 0, 'no consent was recorded for refused requests');
});
