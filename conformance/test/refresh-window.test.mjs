// Issue 13 (SPEC §11): refresh under concurrency through oauth4webapi.
// Several processes of one MCP client race on one refresh token: with the
// tenant's refresh_retry_window, two concurrent refreshes of one token both
// succeed with the same successor (and each gets a fresh access token);
// after the window, presenting the old token again revokes the family, as
// reuse detection always did. Other clients and malformed settings are
// refused.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { createTenant } from '../lib/fixture.mjs';
import { createUser, createCodeClient, personTokens, refresh, refreshRaw, patchTenant, auditEvents } from '../lib/codeflow.mjs';
import { okJson } from '../lib/checks.mjs';

let t, client, other, person;
before(async () => {
  t = await createTenant('rwin');
  client = await createCodeClient(t, { client_name: 'MCP host' });
  other = await createCodeClient(t, { client_name: 'another app' });
  person = await createUser(t);
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('refresh_retry_window takes 0 to 60 seconds, integers only', async () => {
  for (const bad of [-1, 61, '3', 2.5, null]) {
    const r = await patchTenant(t, { refresh_retry_window: bad });
    assert.equal(r.status, 400, r.describe());
    assert.equal(r.contentType, 'application/problem+json');
  }
  const g = okJson(await t.admin.getTenant(t.slug));
  assert.equal(g.refresh_retry_window, 0, 'default 0, unchanged by the refusals');
});

test('window 0: two concurrent refreshes of one token: one wins, the other is reuse and revokes the family', async () => {
  okJson(await patchTenant(t, { refresh_retry_window: 0 }));
  const { tokens } = await personTokens(t, client, person);
  const [a, b] = await Promise.all([refreshRaw(t, client, tokens.refresh_token), refreshRaw(t, client, tokens.refresh_token)]);
  const statuses = [a.status, b.status].sort();
  assert.deepEqual(statuses, [200, 400], `${a.describe()}\n${b.describe()}`);
  const won = a.status === 200 ? a : b;
  const again = await refreshRaw(t, client, won.json.refresh_token);
  assert.equal(again.status, 400, 'the family was revoked by the reuse');
});

test('inside the window: two concurrent refreshes both succeed with the same successor', async () => {
  okJson(await patchTenant(t, { refresh_retry_window: 3 }));
  const { tokens } = await personTokens(t, client, person);
  const [a, b] = await Promise.all([
    refresh(t, client, tokens.refresh_token),
    refresh(t, client, tokens.refresh_token),
  ]);
  assert.equal(a.refresh_token, b.refresh_token, 'the same successor');
  assert.notEqual(a.access_token, b.access_token, 'each a fresh access token');
  assert.equal(jose.decodeJwt(a.access_token).sub, person.id);
  // one of them is audited as a retry
  const rows = (await auditEvents(t, { event: 'token.refreshed' })).filter((e) => e.details?.retry === true);
  assert.ok(rows.length >= 1, 'a token.refreshed row with details.retry true');
  // another client presenting the old token: invalid_grant, family intact
  const o = await refreshRaw(t, other, tokens.refresh_token);
  assert.equal(o.status, 400, o.describe());
  assert.equal(o.json.error, 'invalid_grant');
  // the successor works
  const next = await refresh(t, client, a.refresh_token);
  assert.equal(typeof next.refresh_token, 'string');

  // after the window, the first token again: reuse; the family is revoked
  await sleep(3200);
  const late = await refreshRaw(t, client, tokens.refresh_token);
  assert.equal(late.status, 400, late.describe());
  assert.equal(late.json.error, 'invalid_grant');
  const dead = await refreshRaw(t, client, next.refresh_token);
  assert.equal(dead.status, 400, 'reuse after the window revoked the newest token too');
  const reuse = await auditEvents(t, { event: 'refresh.reuse_detected' });
  assert.ok(reuse.length >= 2);
});
