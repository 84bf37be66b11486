// SPEC §8 (issue 2 item 9): token issued and client authentication failure
// leave audit rows, committed before the answer is sent, readable at once
// through GET /admin/v1/tenants/{t}/audit.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { Admin } from '../lib/admin.mjs';
import { postForm } from '../lib/http.mjs';
import { assertProblem, okJson } from '../lib/checks.mjs';
import { createTenant, RESOURCE } from '../lib/fixture.mjs';

const admin = new Admin();
let t;
before(async () => {
  t = await createTenant('aud');
});

const ROW_KEYS = ['id', 'at', 'event', 'outcome', 'client_id', 'subject', 'actor_chain', 'session_id', 'resources', 'scope', 'reason', 'request_id', 'source', 'details'];

async function events(query = {}) {
  const body = okJson(await admin.audit(t.slug, query));
  assert.ok(Array.isArray(body.events), `audit answer has an events array: ${JSON.stringify(body)}`);
  assert.ok('next_cursor' in body, 'audit answer has next_cursor');
  return body.events;
}

test('a client_credentials token leaves a token.issued success row, visible immediately after the answer', async () => {
  const c = t.clients.basic;
  const r = await t.ccRaw(c, [['scope', 'tools:read'], ['resource', RESOURCE]]);
  assert.equal(r.status, 200, r.describe());
  const reqId = r.header('x-request-id');
  const rows = await events({ event: 'token.issued', client: c.client_id });
  assert.ok(rows.length >= 1, 'a token.issued row exists right after the token response');
  const row = rows[0];
  for (const k of ROW_KEYS) assert.ok(k in row, `audit row has ${k}: ${JSON.stringify(row)}`);
  assert.equal(row.event, 'token.issued');
  assert.equal(row.outcome, 'success');
  assert.equal(row.client_id, c.client_id);
  assert.equal(row.scope, 'tools:read');
  assert.deepEqual(row.resources, [RESOURCE]);
  assert.ok(Array.isArray(row.actor_chain), 'actor_chain is an array');
  assert.equal(typeof row.details, 'object');
  assert.equal(row.details.grant_type, 'client_credentials');
  assert.ok(!Number.isNaN(Date.parse(row.at)), `at is an RFC 3339 time: ${row.at}`);
  if (reqId) assert.equal(row.request_id, reqId, 'request_id is the X-Request-Id of the answer');
  const jti = jose.decodeJwt(r.json.access_token).jti;
  assert.ok(!JSON.stringify(row).includes(r.json.access_token), `the token itself is not in the audit row (jti ${jti})`);
});

test('a wrong secret leaves a client_auth.failed failure row, and the secret is not in it', async () => {
  const c = t.clients.basic;
  const wrong = `wrong-${Date.now()}-secret`;
  const r = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials']], { basic: [c.client_id, wrong] });
  assert.equal(r.status, 401, r.describe());
  const rows = await events({ event: 'client_auth.failed' });
  const row = rows.find((x) => x.client_id === c.client_id);
  assert.ok(row, `a client_auth.failed row names ${c.client_id}: ${JSON.stringify(rows)}`);
  assert.equal(row.outcome, 'failure');
  assert.ok(!JSON.stringify(row).includes(wrong), 'the presented secret is not recorded');
});

test('audit rows come newest first', async () => {
  const rows = await events({ limit: '1000' });
  for (let i = 1; i < rows.length; i++) {
    assert.ok(Date.parse(rows[i - 1].at) >= Date.parse(rows[i].at), 'newest first');
  }
});

test('audit limit outside 1..1000 is 400 problem+json', async () => {
  for (const limit of ['0', '1001', '-1', 'abc']) {
    assertProblem(await admin.audit(t.slug, { limit }), 400);
  }
});

test("audit of one tenant does not show another tenant's rows", async () => {
  const other = await createTenant('aud2');
  await other.accessToken(other.clients.basic);
  const rows = await events({ limit: '1000' });
  const otherIds = new Set(Object.values(other.clients).map((c) => c.client_id));
  assert.ok(!rows.some((r) => otherIds.has(r.client_id)), 'no row of the other tenant');
});
