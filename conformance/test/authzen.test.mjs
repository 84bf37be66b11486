// Issue 14: every tool call a decision. The AuthZEN 1.0 policy decision
// point of a tenant (SPEC §12), called the way an MCP server calls it: HTTP
// Basic as at introspection, JSON bodies of AuthZEN §6 and §7. Each rule is
// tried from the attacker's side (a scope left out, a token for another
// server, a tool not in the catalog or of another server, another tenant's
// token, a revoked or expired one, malformed bodies, a caller asking about a
// resource it does not serve), every decision's audit row is read back
// through the admin API (its id is the answer's), and a token exchanged
// through two agents is decided with the whole chain in the row.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createTenant, RESOURCE, OTHER_RESOURCE } from '../lib/fixture.mjs';
import { assertOAuthError, assertHealthy, okJson } from '../lib/checks.mjs';
import { get, request, basicAuth } from '../lib/http.mjs';
import { baseUrl } from '../lib/env.mjs';
import { createUser, auditEvents, revoke } from '../lib/codeflow.mjs';
import { createAgent, createResourceServer, exchange, TT_ACCESS } from '../lib/exchange.mjs';
import { createApprover, createCibaAgent, approvedSession, sleep } from '../lib/ciba.mjs';

const enc = encodeURIComponent;
let t; // the tenant of this file
let other; // another tenant
let rs; // the MCP server: introspects RESOURCE
let readToken; // the read-only agent's token for RESOURCE (tools:read)
let callToken; // the basic agent's token for RESOURCE (tools:read tools:call)

const evaluationUrl = () => `${t.issuer}/access/v1/evaluation`;
const evaluationsUrl = () => `${t.issuer}/access/v1/evaluations`;

/** A POST to the PDP as `caller` (HTTP Basic); body an object or a raw string. */
function pdp(url, body, { caller = rs, contentType = 'application/json', headers = {} } = {}) {
  const h = { Accept: 'application/json', 'Content-Type': contentType, ...headers };
  if (caller) h.Authorization = basicAuth(caller.client_id, caller.client_secret);
  return request('POST', url, { headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** One AuthZEN §6 evaluation of a tools/call. */
function evaluation(token, tool, { server = RESOURCE, args, action = 'tools/call' } = {}) {
  const e = {
    subject: { type: 'agent_token', id: token },
    action: { name: action },
    resource: { type: 'mcp_tool', id: tool, properties: { server } },
  };
  if (args !== undefined) e.context = { arguments: args };
  return e;
}

/** Decides one call; returns {decision, reason, id, res}. */
async function decide(token, tool, o = {}) {
  const res = await pdp(evaluationUrl(), evaluation(token, tool, o), o);
  const j = okJson(res);
  assert.equal(typeof j.decision, 'boolean', `decision is a boolean: ${res.describe()}`);
  assert.equal(typeof j.context?.id, 'string', `context.id names the audit row: ${res.describe()}`);
  assert.equal(typeof j.context?.reason, 'string', `context.reason says why: ${res.describe()}`);
  assert.equal(res.header('cache-control'), 'no-store', res.describe());
  return { decision: j.decision, reason: j.context.reason, id: j.context.id, res };
}

/** The audit row of a decision, by its id, read right after the answer. */
async function rowOf(id) {
  const rows = [
    ...(await auditEvents(t, { event: 'tool.allowed', limit: '1000' })),
    ...(await auditEvents(t, { event: 'tool.denied', limit: '1000' })),
  ];
  const row = rows.find((r) => r.id === id);
  assert.ok(row, `the decision's audit row ${id} is committed before the answer`);
  return row;
}

async function decisionRows() {
  const a = await auditEvents(t, { event: 'tool.allowed', limit: '1000' });
  const d = await auditEvents(t, { event: 'tool.denied', limit: '1000' });
  return a.length + d.length;
}

before(async () => {
  t = await createTenant('pdp');
  other = await createTenant('pdp-other');
  rs = await createResourceServer(t, [RESOURCE]);
  for (const [name, body] of [
    ['search', { scopes: ['tools:read'], risk: 'read' }],
    ['send_mail', { scopes: ['tools:call'], risk: 'write' }],
    ['deploy', { scopes: ['tools:call'], risk: 'destructive', approval: 'session' }],
  ]) {
    const res = await t.admin.call('PUT', `/tenants/${enc(t.slug)}/resources/tools/${name}?resource=${enc(RESOURCE)}`, body);
    okJson(res, 201);
  }
  okJson(
    await t.admin.call('PUT', `/tenants/${enc(t.slug)}/resources/tools/read_file?resource=${enc(OTHER_RESOURCE)}`, {
      scopes: ['files:read'],
    }),
    201,
  );
  readToken = await t.accessToken(t.clients.readonly, { scope: 'tools:read', resource: RESOURCE });
  callToken = await t.accessToken(t.clients.basic, { scope: 'tools:read tools:call', resource: RESOURCE });
});

// ---------------------------------------------------------------- discovery

test('discovery: /.well-known/authzen-configuration/t/{tenant} and under the issuer name the PDP and both endpoints', async () => {
  for (const url of [
    `${baseUrl()}/.well-known/authzen-configuration/t/${t.slug}`,
    `${t.issuer}/.well-known/authzen-configuration`,
  ]) {
    const j = okJson(await get(url));
    assert.equal(j.policy_decision_point, t.issuer);
    assert.equal(j.access_evaluation_endpoint, evaluationUrl());
    assert.equal(j.access_evaluations_endpoint, evaluationsUrl());
  }
  const res = await get(`${baseUrl()}/.well-known/authzen-configuration/t/no-such-tenant-here`);
  assert.equal(res.status, 404, res.describe());
});

// ---------------------------------------------------------------- the rules

test('a catalogued tool whose scopes the token holds is allowed; the row has agent, person, server, tool, arguments hash, policy', async () => {
  const args = { query: 'quarterly report', limit: 5 };
  const d = await decide(readToken, 'search', { args });
  assert.equal(d.decision, true, d.res.describe());
  const row = await rowOf(d.id);
  assert.equal(row.event, 'tool.allowed');
  assert.equal(row.outcome, 'success');
  assert.equal(row.client_id, t.clients.readonly.client_id, 'client_id is the agent');
  assert.deepEqual(row.resources, [RESOURCE]);
  assert.equal(row.details.tool, 'search');
  assert.equal(row.details.policy, 'catalog');
  // canonical JSON: members sorted, no white space
  const canon = JSON.stringify({ limit: 5, query: 'quarterly report' });
  assert.equal(row.details.arguments_sha256, createHash('sha256').update(canon).digest('hex'));
  assert.ok(!JSON.stringify(row).includes('quarterly report'), 'the arguments themselves are not in the audit trail');
  assert.ok(!JSON.stringify(row).includes(readToken), 'the token is not in the audit trail');
});

test("scope: a tool whose scopes the token does not cover is denied (the read-only agent calls send_mail)", async () => {
  const d = await decide(readToken, 'send_mail');
  assert.equal(d.decision, false);
  assert.equal((await rowOf(d.id)).details.policy, 'scope');
  assert.equal((await rowOf(d.id)).event, 'tool.denied');
  const ok = await decide(callToken, 'send_mail');
  assert.equal(ok.decision, true, 'the agent with tools:call may');
});

test("audience: a token for the issuer (no resource) or for another server is denied at this server", async () => {
  const noResource = await t.accessToken(t.clients.basic, { scope: 'tools:read' });
  const d = await decide(noResource, 'search');
  assert.equal(d.decision, false);
  assert.equal((await rowOf(d.id)).details.policy, 'audience');
});

test('unknown tools: denied unless the resource says unknown_tools allow', async () => {
  let d = await decide(callToken, 'drop_database');
  assert.equal(d.decision, false);
  assert.equal((await rowOf(d.id)).details.policy, 'catalog');
  okJson(await t.admin.call('PATCH', `/tenants/${enc(t.slug)}/resources?uri=${enc(RESOURCE)}`, { unknown_tools: 'allow' }));
  d = await decide(callToken, 'drop_database');
  assert.equal(d.decision, true, 'allowed once unknown_tools is allow');
  assert.equal((await rowOf(d.id)).details.policy, 'unknown_tools');
  okJson(await t.admin.call('PATCH', `/tenants/${enc(t.slug)}/resources?uri=${enc(RESOURCE)}`, { unknown_tools: 'deny' }));
  d = await decide(callToken, 'drop_database');
  assert.equal(d.decision, false, 'denied again');
});

test("tools of another server: read_file (OTHER_RESOURCE's) asked about at RESOURCE is not in its catalog; asking about OTHER_RESOURCE is 403", async () => {
  const d = await decide(callToken, 'read_file');
  assert.equal(d.decision, false);
  assert.equal((await rowOf(d.id)).details.policy, 'catalog');
  const before = await decisionRows();
  const res = await pdp(evaluationUrl(), evaluation(callToken, 'read_file', { server: OTHER_RESOURCE }));
  assertOAuthError(res, { status: 403, error: 'access_denied' });
  const batch = await pdp(evaluationsUrl(), {
    evaluations: [evaluation(callToken, 'search'), evaluation(callToken, 'read_file', { server: OTHER_RESOURCE })],
  });
  assertOAuthError(batch, { status: 403, error: 'access_denied' });
  assert.equal(await decisionRows(), before, 'a 403 writes no decision row');
});

test("another tenant's token is denied (tokens of one tenant are never accepted by another)", async () => {
  const foreign = await other.accessToken(other.clients.basic, { scope: 'tools:read', resource: RESOURCE });
  const d = await decide(foreign, 'search');
  assert.equal(d.decision, false);
  const row = await rowOf(d.id);
  assert.equal(row.details.policy, 'token');
  assert.equal(row.client_id, null, 'nothing of an unverified token reaches the row');
  // garbage and a token with a flipped signature byte, likewise
  for (const bad of ['not-a-jwt', `${readToken.slice(0, -2)}AA`]) {
    const g = await decide(bad, 'search');
    assert.equal(g.decision, false);
  }
});

test('a revoked token is denied at once; an expired one likewise', async () => {
  const tok = await t.accessToken(t.clients.basic, { scope: 'tools:read', resource: RESOURCE });
  assert.equal((await decide(tok, 'search')).decision, true);
  await revoke(t, t.clients.basic, tok);
  const d = await decide(tok, 'search');
  assert.equal(d.decision, false, 'revoked');
  assert.equal((await rowOf(d.id)).details.policy, 'token');

  const short = await createTenant('pdp-ttl');
  okJson(await short.admin.patchTenant(short.slug, { access_token_ttl: 5 }));
  const srs = await createResourceServer(short, [RESOURCE]);
  okJson(await short.admin.call('PUT', `/tenants/${enc(short.slug)}/resources/tools/search?resource=${enc(RESOURCE)}`, {}), 201);
  const st = await short.accessToken(short.clients.basic, { scope: 'tools:read', resource: RESOURCE });
  const url = `${short.issuer}/access/v1/evaluation`;
  let j = okJson(await pdp(url, evaluation(st, 'search'), { caller: srs }));
  assert.equal(j.decision, true, 'fresh');
  await sleep(6500);
  j = okJson(await pdp(url, evaluation(st, 'search'), { caller: srs }));
  assert.equal(j.decision, false, 'expired');
});

test("approval: session: a tool needs a session whose approved task lists it (no sid: denied by 'session')", async () => {
  const d = await decide(callToken, 'deploy');
  assert.equal(d.decision, false);
  assert.equal((await rowOf(d.id)).details.policy, 'session');
});

test('another action than tools/call is denied', async () => {
  const d = await decide(callToken, 'search', { action: 'tools/delete' });
  assert.equal(d.decision, false);
  assert.equal((await rowOf(d.id)).details.policy, 'action');
});

// ---------------------------------------------------------------- the caller

test('the caller: no or wrong credentials 401; a client that serves nothing 403; nothing written', async () => {
  const before = await decisionRows();
  const body = evaluation(callToken, 'search');
  let res = await pdp(evaluationUrl(), body, { caller: null });
  assert.equal(res.status, 401, res.describe());
  res = await pdp(evaluationUrl(), body, { caller: { ...rs, client_secret: 'wrong' } });
  assertOAuthError(res, { status: 401, error: 'invalid_client' });
  // an agent (introspects nothing) asking
  res = await pdp(evaluationUrl(), body, { caller: t.clients.basic });
  assertOAuthError(res, { status: 403, error: 'access_denied' });
  // another tenant's client
  res = await pdp(evaluationUrl(), body, { caller: other.clients.basic });
  assertOAuthError(res, { status: 401, error: 'invalid_client' });
  assert.equal(await decisionRows(), before, 'no decision row for a refused caller');
});

// ---------------------------------------------------------------- malformed bodies

test('malformed bodies: 400 invalid_request, nothing written, never 5xx', async () => {
  const good = evaluation(callToken, 'search');
  const before = await decisionRows();
  const bad = [
    ['broken JSON', '{"subject":'],
    ['an array', '[1,2]'],
    ['a repeated member', `{"subject":{"type":"agent_token","id":"x"},"subject":{"type":"agent_token","id":"y"}}`],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
    ['no subject', { ...good, subject: undefined }],
    ['subject of another type', { ...good, subject: { type: 'user', id: 'alice' } }],
    ['subject without id', { ...good, subject: { type: 'agent_token' } }],
    ['subject id a number', { ...good, subject: { type: 'agent_token', id: 7 } }],
    ['no action', { ...good, action: undefined }],
    ['action without name', { ...good, action: {} }],
    ['resource of another type', { ...good, resource: { ...good.resource, type: 'document' } }],
    ['a tool name with a space', { ...good, resource: { ...good.resource, id: 'two words' } }],
    ['a tool name of 129 characters', { ...good, resource: { ...good.resource, id: 'a'.repeat(129) } }],
    ['no server', { ...good, resource: { type: 'mcp_tool', id: 'search' } }],
    ['a server that is not a URI', { ...good, resource: { ...good.resource, properties: { server: 'not a uri' } } }],
    ['context not an object', { ...good, context: 'x' }],
    ['arguments not an object', { ...good, context: { arguments: [1] } }],
    ["SQL in the tool name", { ...good, resource: { ...good.resource, id: "x'; DROP TABLE audit; --" } }],
  ];
  for (const [what, body] of bad) {
    const raw = Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
    const res = await request('POST', evaluationUrl(), {
      headers: { 'Content-Type': 'application/json', Authorization: basicAuth(rs.client_id, rs.client_secret) },
      body: raw,
    });
    try {
      assertOAuthError(res, { status: 400, error: 'invalid_request' });
    } catch (e) {
      e.message = `${what}: ${e.message}`;
      throw e;
    }
  }
  let res = await pdp(evaluationUrl(), good, { contentType: 'application/x-www-form-urlencoded' });
  assertOAuthError(res, { status: 400, error: 'invalid_request' });
  const batchBad = [
    ['evaluations not an array', { evaluations: {} }],
    ['evaluations empty', { evaluations: [] }],
    ['65 evaluations', { evaluations: Array(65).fill(good) }],
    ['an evaluation not an object', { evaluations: [good, 3] }],
    ['an evaluation missing its subject, no default', { evaluations: [{ action: good.action, resource: good.resource }] }],
    ['an unknown semantic', { evaluations: [good], options: { evaluations_semantic: 'majority' } }],
  ];
  for (const [what, body] of batchBad) {
    res = await pdp(evaluationsUrl(), body);
    try {
      assertOAuthError(res, { status: 400, error: 'invalid_request' });
    } catch (e) {
      e.message = `${what}: ${e.message}`;
      throw e;
    }
  }
  res = await request('GET', evaluationUrl(), { headers: { Authorization: basicAuth(rs.client_id, rs.client_secret) } });
  assert.equal(res.status, 405, res.describe());
  assert.equal(await decisionRows(), before, 'a refused body writes no decision row');
  await assertHealthy('the malformed AuthZEN bodies');
});

// ---------------------------------------------------------------- batch semantics (AuthZEN §7)

test('batch: top-level defaults, each evaluation overriding them, answers in order, each with its row', async () => {
  const res = await pdp(evaluationsUrl(), {
    subject: { type: 'agent_token', id: readToken },
    action: { name: 'tools/call' },
    resource: { type: 'mcp_tool', id: 'search', properties: { server: RESOURCE } },
    evaluations: [
      {},
      { resource: { type: 'mcp_tool', id: 'send_mail', properties: { server: RESOURCE } } },
      { subject: { type: 'agent_token', id: callToken }, resource: { type: 'mcp_tool', id: 'send_mail', properties: { server: RESOURCE } } },
      { resource: { type: 'mcp_tool', id: 'nope', properties: { server: RESOURCE } } },
      { context: { arguments: { q: 1 } } },
    ],
  });
  const j = okJson(res);
  assert.deepEqual(j.evaluations.map((e) => e.decision), [true, false, true, false, true], res.describe());
  const ids = j.evaluations.map((e) => e.context.id);
  assert.equal(new Set(ids).size, 5, 'five rows');
  const rows = await Promise.all(ids.map(rowOf));
  assert.deepEqual(rows.map((r) => r.details.tool), ['search', 'send_mail', 'send_mail', 'nope', 'search']);
  assert.deepEqual(rows.map((r) => r.client_id), [
    t.clients.readonly.client_id,
    t.clients.readonly.client_id,
    t.clients.basic.client_id,
    t.clients.readonly.client_id,
    t.clients.readonly.client_id,
  ]);
});

test('batch: a revoked default token is denied in every evaluation that uses it, a live token of one evaluation is still decided on its own', async () => {
  const revoked = await t.accessToken(t.clients.basic, { scope: 'tools:read', resource: RESOURCE });
  await revoke(t, t.clients.basic, revoked);
  const res = await pdp(evaluationsUrl(), {
    subject: { type: 'agent_token', id: revoked },
    action: { name: 'tools/call' },
    resource: { type: 'mcp_tool', id: 'search', properties: { server: RESOURCE } },
    evaluations: [
      {},
      { subject: { type: 'agent_token', id: readToken } },
      {},
      { subject: { type: 'agent_token', id: revoked } },
      { subject: { type: 'agent_token', id: readToken } },
      { subject: { type: 'agent_token', id: readToken } },
    ],
  });
  const j = okJson(res);
  assert.deepEqual(j.evaluations.map((e) => e.decision), [false, true, false, false, true, true], res.describe());
  const rows = await Promise.all(j.evaluations.map((e) => rowOf(e.context.id)));
  assert.deepEqual(rows.map((r) => r.details.policy), ['token', 'catalog', 'token', 'token', 'catalog', 'catalog']);
  assert.deepEqual(rows.map((r) => r.client_id), [null, t.clients.readonly.client_id, null, null,
    t.clients.readonly.client_id, t.clients.readonly.client_id]);
});

test('batch: deny_on_first_deny stops after the first deny, permit_on_first_permit after the first permit; without evaluations it is one evaluation', async () => {
  const evs = [evaluation(callToken, 'search'), evaluation(readToken, 'send_mail'), evaluation(callToken, 'send_mail')];
  let j = okJson(await pdp(evaluationsUrl(), { evaluations: evs, options: { evaluations_semantic: 'deny_on_first_deny' } }));
  assert.deepEqual(j.evaluations.map((e) => e.decision), [true, false]);
  j = okJson(await pdp(evaluationsUrl(), { evaluations: evs, options: { evaluations_semantic: 'permit_on_first_permit' } }));
  assert.deepEqual(j.evaluations.map((e) => e.decision), [true]);
  j = okJson(await pdp(evaluationsUrl(), { evaluations: evs, options: { evaluations_semantic: 'execute_all' } }));
  assert.deepEqual(j.evaluations.map((e) => e.decision), [true, false, true]);
  // AuthZEN §7.1: no evaluations: the request is one evaluation
  j = okJson(await pdp(evaluationsUrl(), evaluation(readToken, 'search')));
  assert.equal(j.decision, true);
  assert.equal(j.evaluations, undefined);
});

// ---------------------------------------------------------------- delegation chains

test('a token exchanged through two agents is decided with the whole chain, the person and the session in the row', async () => {
  const approver = await createApprover(t);
  const alice = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const agentA = await createCibaAgent(t, { client_name: 'agent A (holds the session)' });
  const agentB = await createAgent(t, { client_name: 'agent B', can_act_for: [alice.username] });
  const session = await approvedSession(t, agentA, alice, approver, { scope: 'tools:read tools:call', session_ttl: '900' });
  const first = await exchange(t, agentA, {
    subject_token: session.tokens.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await t.accessToken(agentA),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  const second = await exchange(t, agentB, {
    subject_token: first.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await t.accessToken(agentB),
    actor_token_type: TT_ACCESS,
    resource: RESOURCE,
  });
  const d = await decide(second.access_token, 'search', { args: { q: 'x' } });
  assert.equal(d.decision, true, d.res.describe());
  const row = await rowOf(d.id);
  assert.equal(row.client_id, agentB.client_id, 'client_id is the current agent');
  assert.equal(row.subject, alice.id, 'subject is the person');
  assert.deepEqual(row.actor_chain, [agentB.client_id, agentA.client_id], 'the whole chain, current actor first');
  assert.equal(row.session_id, session.sid, 'the session');
  // the session approved no task listing deploy: denied, with the reason
  const dep = await decide(second.access_token, 'deploy');
  assert.equal(dep.decision, false);
  assert.equal((await rowOf(dep.id)).details.policy, 'task');
});
