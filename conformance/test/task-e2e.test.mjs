// Issue 14, the test that proves it: a real MCP client (the SDK's), the
// reference MCP server (examples/mcp-server, which asks authz's AuthZEN PDP
// before every tool call), real authzd and PostgreSQL.
//
// A person approves, on the approval page, a CIBA session whose task lists
// two tools of a server whose catalog marks every tool `approval: "session"`.
// The agent exchanges the session's token for one that names it as actor
// (act), and its MCP client: lists the tools (only the two), calls them
// (allowed, audited tool.allowed with the person, the agent chain and the
// session), calls a third (denied, with authz's reason, audited tool.denied);
// a second agent takes the token one more hop and is decided with the whole
// chain;
// after the person revokes the session on the approval page, every call is
// denied within one second.
//
// The example server has its own package (examples/mcp-server/package.json);
// its node_modules are installed here with `npm ci` when missing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createTenant } from '../lib/fixture.mjs';
import { createUser, createCodeClient, authorize, auditEvents } from '../lib/codeflow.mjs';
import { createAgent, createResourceServer, exchange, checkExchanged, actChain, TT_ACCESS } from '../lib/exchange.mjs';
import { createCibaAgent, bcParams, bcAuthorize, pollTokens, sleep } from '../lib/ciba.mjs';
import { parseForms, pageText } from '../lib/useragent.mjs';
import { freePort } from '../lib/authzd.mjs';

const EXAMPLE = fileURLToPath(new URL('../../examples/mcp-server/', import.meta.url));
const enc = encodeURIComponent;

let t;
let mcp; // the example server
let serverUrl;
let pdpMissing;
let rs;
let startMcpServer;

before(async () => {
  t = await createTenant('e2e');
  const d = await fetch(`${t.issuer}/.well-known/authzen-configuration`);
  pdpMissing = d.status === 404;
  if (!existsSync(`${EXAMPLE}node_modules`)) execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: EXAMPLE, stdio: 'ignore' });
  const port = await freePort();
  serverUrl = `http://127.0.0.1:${port}/mcp`;
  await t.admin.mustCreateResource(t.slug, { uri: serverUrl, scopes: ['tools:read', 'tools:call'] });
  if (!pdpMissing) {
    // the catalog: every tool needs a session whose task lists it
    for (const [name, scopes, risk] of [
      ['search_tickets', ['tools:read'], 'read'],
      ['summarise_ticket', ['tools:read'], 'read'],
      ['delete_ticket', ['tools:call'], 'destructive'],
    ]) {
      const res = await t.admin.call('PUT', `/tenants/${enc(t.slug)}/resources/tools/${enc(name)}?resource=${enc(serverUrl)}`, {
        scopes,
        risk,
        approval: 'session',
      });
      assert.ok(res.status === 200 || res.status === 201, `catalog PUT ${name}\n  ${res.describe()}`);
    }
  }
  rs = await createResourceServer(t, [serverUrl], { client_name: 'tickets MCP server' });
  ({ startMcpServer } = await import(`${EXAMPLE}server.mjs`));
  mcp = await startMcpServer({ issuer: t.issuer, clientId: rs.client_id, clientSecret: rs.client_secret, port });
  assert.equal(mcp.url, serverUrl);
});

after(async () => {
  if (mcp) await mcp.close();
});

async function mcpClient(token) {
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

const textOf = (r) => (r.content || []).map((c) => c.text).join(' ');

async function auditRow(event, pred, what, withinMs = 3000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const row = (await auditEvents(t, { event })).find(pred);
    if (row) return row;
    if (Date.now() > deadline) assert.fail(`no ${event} audit row for ${what}`);
    await sleep(100);
  }
}

test('a person approves a task of two tools; the agent calls them, a third is denied with a reason, and revoking the session denies every call within 1 s', async (tc) => {
  if (pdpMissing) {
    tc.skip('this build has no AuthZEN PDP (GET {ISSUER}/.well-known/authzen-configuration is 404)');
    return;
  }
  const alice = await createUser(t, { scopes: ['tools:read', 'tools:call'] });
  const agent = await createCibaAgent(t, { client_name: 'Ticket Agent', allowed_resources: [serverUrl] });
  const task = 'Find the printer tickets and summarise them';
  const req = await bcAuthorize(
    t,
    agent,
    bcParams(alice, {
      resource: serverUrl,
      binding_message: task,
      authorization_details: JSON.stringify([{ type: 'mcp_tools', locations: [serverUrl], tools: ['search_tickets', 'summarise_ticket'] }]),
    }),
  );

  // the person signs in and approves on the approval page, which names the task's tools
  const app = await createCodeClient(t);
  const { ua } = await authorize(t, app, alice, { scope: 'tools:read' });
  const page = await ua.get(`${t.issuer}/approvals/${enc(req.auth_req_id)}`);
  assert.equal(page.status, 200, page.describe());
  const shown = pageText(page.text);
  for (const s of [task, 'search_tickets', 'summarise_ticket', serverUrl]) assert.ok(shown.includes(s), `the approval page shows ${s}`);
  assert.ok(!shown.includes('delete_ticket'), 'the page offers no tool the task does not list');
  const form = parseForms(page.text, page.url).find((f) => f.button('decision', 'approve'));
  form.pageUrl = page.url;
  const decided = await ua.submit(form, {}, form.button('decision', 'approve'));
  assert.ok(decided.status < 400, `approving: ${decided.describe()}`);

  // the agent's tokens: the session's, exchanged so that the agent is the named actor
  const s = await pollTokens(t, agent, req.auth_req_id);
  const sid = jose.decodeJwt(s.access_token).sid;
  const x = await exchange(t, agent, {
    subject_token: s.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await t.accessToken(agent),
    actor_token_type: TT_ACCESS,
    resource: serverUrl,
  });
  const claims = await checkExchanged(t, x, { audience: serverUrl });
  assert.equal(claims.sid, sid);
  assert.deepEqual(actChain(claims.act), [agent.client_id]);

  const client = await mcpClient(x.access_token);
  const listed = (await client.listTools()).tools.map((tool) => tool.name).sort();
  assert.deepEqual(listed, ['search_tickets', 'summarise_ticket'], 'tools/list shows the two tools of the task');

  const found = await client.callTool({ name: 'search_tickets', arguments: { query: 'printer' } });
  assert.ok(!found.isError, `search_tickets allowed: ${textOf(found)}`);
  assert.match(textOf(found), /Printer/);
  const sum = await client.callTool({ name: 'summarise_ticket', arguments: { id: 'T-1' } });
  assert.ok(!sum.isError, `summarise_ticket allowed: ${textOf(sum)}`);
  const row = await auditRow('tool.allowed', (r) => r.session_id === sid && r.details?.tool === 'summarise_ticket', 'summarise_ticket');
  assert.equal(row.client_id, agent.client_id, `the agent: ${JSON.stringify(row)}`);
  assert.equal(row.subject, alice.id, `the person: ${JSON.stringify(row)}`);
  assert.deepEqual(row.actor_chain, [agent.client_id], `the agent chain: ${JSON.stringify(row)}`);
  assert.deepEqual(row.resources, [serverUrl]);
  assert.equal(sum._meta?.decision_id, row.id, 'the decision the server got is that audit row');

  const del = await client.callTool({ name: 'delete_ticket', arguments: { id: 'T-2' } });
  assert.equal(del.isError, true, `delete_ticket denied: ${JSON.stringify(del)}`);
  assert.ok((del._meta?.reason || '').length > 0, `the denial carries a reason: ${JSON.stringify(del)}`);
  const denied = await auditRow('tool.denied', (r) => r.session_id === sid && r.details?.tool === 'delete_ticket', 'delete_ticket');
  assert.equal(denied.subject, alice.id);

  // a second agent, allowed to act for the person (can_act_for), takes the
  // token one hop further: the same task, the whole chain in the audit row
  const helper = await createAgent(t, { client_name: 'Summary Helper', can_act_for: [alice.username], allowed_resources: [serverUrl] });
  const x2 = await exchange(t, helper, {
    subject_token: x.access_token,
    subject_token_type: TT_ACCESS,
    actor_token: await t.accessToken(helper),
    actor_token_type: TT_ACCESS,
    resource: serverUrl,
  });
  const c2 = await checkExchanged(t, x2, { audience: serverUrl });
  assert.deepEqual(actChain(c2.act), [helper.client_id, agent.client_id]);
  assert.deepEqual(c2.authorization_details, claims.authorization_details, 'the task details pass on unchanged');
  const client2 = await mcpClient(x2.access_token);
  const sum2 = await client2.callTool({ name: 'summarise_ticket', arguments: { id: 'T-2' } });
  assert.ok(!sum2.isError, `the second agent's call is allowed: ${textOf(sum2)}`);
  const row2 = await auditRow('tool.allowed', (r) => r.session_id === sid && r.client_id === helper.client_id, 'the second hop');
  assert.deepEqual(row2.actor_chain, [helper.client_id, agent.client_id], `the whole chain: ${JSON.stringify(row2)}`);
  assert.equal(row2.subject, alice.id);

  // the person revokes the session on the list page; every call is denied within 1 s
  const list = await ua.get(`${t.issuer}/approvals`);
  const revokeForm = parseForms(list.text, list.url).find((f) => f.action.includes(`/sessions/${sid}/revoke`));
  assert.ok(revokeForm, 'the approvals page has a revoke button for the session');
  revokeForm.pageUrl = list.url;
  const revokedAt = Date.now();
  const rv = await ua.submit(revokeForm, {}, revokeForm.buttons[0]);
  assert.ok(rv.status < 400, `revoking: ${rv.describe()}`);
  let firstDenied;
  while (Date.now() - revokedAt < 2000) {
    const r = await client.callTool({ name: 'search_tickets', arguments: { query: '' } });
    if (r.isError) {
      firstDenied ??= Date.now();
    } else {
      assert.equal(firstDenied, undefined, 'once denied, every later call is denied too');
    }
    await sleep(50);
  }
  assert.ok(firstDenied !== undefined && firstDenied - revokedAt <= 1000, `denied ${firstDenied - revokedAt} ms after the revocation`);
  tc.diagnostic(`first call denied ${firstDenied - revokedAt} ms after the revocation was submitted`);
  assert.deepEqual((await client.listTools()).tools, [], 'after the revocation tools/list shows nothing');
  const late = await client2.callTool({ name: 'summarise_ticket', arguments: { id: 'T-2' } });
  assert.equal(late.isError, true, 'the second hop ends with the session too');
  await client.close();
  await client2.close();
});

test('the example server without a usable PDP: RFC 9728 metadata, 401 without or with a foreign token, and every call denied (fail closed)', async () => {
  const pr = await fetch(mcp.prmUrl);
  assert.equal(pr.status, 200);
  assert.match(pr.headers.get('content-type') || '', /^application\/json/);
  const prm = await pr.json();
  assert.equal(prm.resource, serverUrl);
  assert.deepEqual(prm.authorization_servers, [t.issuer]);

  const none = await fetch(serverUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') || '', /^Bearer .*resource_metadata="[^"]+"/);

  // a token of this tenant for another resource: not for this server
  const agent = await createCibaAgent(t, { allowed_resources: [serverUrl, 'https://mcp.example.test/'] });
  const foreign = await t.accessToken(agent, { resource: 'https://mcp.example.test/', scope: 'tools:read' });
  const r401 = await fetch(serverUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${foreign}` },
    body: '{}',
  });
  assert.equal(r401.status, 401);
  assert.match(r401.headers.get('www-authenticate') || '', /error="invalid_token"/);

  // a server whose PDP credentials are wrong decides nothing: it denies
  const broken = await startMcpServer({ issuer: t.issuer, clientId: rs.client_id, clientSecret: 'not-the-secret', port: 0, resource: serverUrl });
  try {
    const token = await t.accessToken(agent, { resource: serverUrl, scope: 'tools:read' });
    const transport = new StreamableHTTPClientTransport(new URL(broken.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'agent', version: '1.0.0' });
    await client.connect(transport);
    assert.deepEqual((await client.listTools()).tools, [], 'tools/list shows nothing it cannot decide');
    const r = await client.callTool({ name: 'search_tickets', arguments: {} });
    assert.equal(r.isError, true, JSON.stringify(r));
    assert.match(textOf(r), /denied by policy/);
    assert.equal(broken.decisions.at(-1).decision, false);
    await client.close();
  } finally {
    await broken.close();
  }
});
