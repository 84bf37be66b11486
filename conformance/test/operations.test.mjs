// SPEC §9: health, readiness, metrics and request ids, seen from outside.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl } from '../lib/env.mjs';
import { get, postForm } from '../lib/http.mjs';
import { assertStatus } from '../lib/checks.mjs';
import { createTenant, RESOURCE } from '../lib/fixture.mjs';

let t;
before(async () => {
  t = await createTenant('ops');
});

test('GET /healthz answers 200', async () => {
  assertStatus(await get(`${baseUrl()}/healthz`), 200);
});

test('GET /readyz answers 200 with the database reachable and migrations current', async () => {
  assertStatus(await get(`${baseUrl()}/readyz`), 200);
});

test('GET /metrics is Prometheus text with a latency histogram and tokens issued by grant', async () => {
  await t.accessToken(t.clients.basic, { resource: RESOURCE });
  const res = await get(`${baseUrl()}/metrics`);
  assertStatus(res, 200);
  assert.match(res.header('content-type') || '', /^text\/plain/i, res.describe());
  assert.match(res.text, /^# TYPE \S+ histogram$/m, 'a latency histogram');
  assert.match(res.text, /^\S+_bucket\{[^}]*le="[^"]+"[^}]*\} \d/m, 'histogram buckets');
  assert.match(res.text, /^\S+\{[^}]*grant[^}]*="client_credentials"[^}]*\} [1-9]/m, 'a counter of tokens issued by grant, > 0 for client_credentials');
  for (const line of res.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)( -?\d+)?$/, `a Prometheus sample line: ${line}`);
  }
});

test('every response carries an X-Request-Id, different per request (success and error alike)', async () => {
  const ids = [];
  const ok = await t.ccRaw(t.clients.basic);
  const bad = await postForm(t.tokenEndpoint, [['grant_type', 'client_credentials']], { basic: ['nobody', 'x'] });
  const meta = await get(`${t.issuer}/.well-known/oauth-authorization-server`);
  for (const res of [ok, bad, meta]) {
    const id = res.header('x-request-id');
    assert.ok(id && id.length >= 8, `X-Request-Id present\n  ${res.describe()}`);
    ids.push(id);
  }
  assert.equal(new Set(ids).size, ids.length, 'request ids are unique');
});

test('an unknown path answers 404, not 5xx', async () => {
  const res = await get(`${baseUrl()}/no/such/path`);
  assertStatus(res, 404);
});
