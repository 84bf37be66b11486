// Issue 5 item 4: approval webhooks come from a durable outbox in PostgreSQL
// and are "not lost across an authzd restart" (SPEC §4.5).
//
// To stop and restart authzd this file runs its own: a fresh database next to
// the harness's (CREATE DATABASE, `authzctl migrate`, `authzctl root-token`)
// and an authzd on it (lib/authzd.mjs). The authzd at AUTHZ_BASE_URL must not
// share that database, or it would deliver the webhook while ours is down.
// Needs AUTHZ_DATABASE_URL and AUTHZ_MASTER_KEY_FILE, as tests/lib.sh exports
// them (scripts/test and drivers sourcing tests/lib.sh do); psql on PATH (or
// AZT_PG_BIN). Every helper below then talks to this file's own authzd.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { patchTenant, auditEvents } from '../lib/codeflow.mjs';
import {
  cibaWorld,
  bcParams,
  bcAuthorize,
  mustDecide,
  pollTokens,
  startReceiver,
  verifyWebhookSignature,
  sleep,
} from '../lib/ciba.mjs';
import { Authzd, freshDatabase, dropDatabase, freePort } from '../lib/authzd.mjs';

let db;
let authzd;
let rx;

before(async () => {
  db = await freshDatabase();
  authzd = new Authzd({ name: 'restart', port: await freePort(), databaseUrl: db.databaseUrl, masterKeyFile: db.masterKeyFile });
  await authzd.start();
  // this process's helpers (lib/env.mjs) now speak to our own authzd
  process.env.AUTHZ_BASE_URL = authzd.url;
  process.env.AUTHZ_ROOT_TOKEN = db.rootToken;
  rx = await startReceiver({ status: 503, path: '/hooks/approvals' });
});

after(async () => {
  await rx?.close();
  if (authzd) await authzd.stop();
  if (db) await dropDatabase(db.name).catch(() => {});
});

test('a webhook refused before an authzd restart is delivered after it, signed, exactly as queued', async () => {
  const secret = randomBytes(32).toString('hex');
  const w = await cibaWorld('restart');
  const p = await patchTenant(w.t, { approval_webhook_url: rx.url, approval_webhook_secret: secret });
  assert.equal(p.status, 200, p.describe());

  const params = bcParams(w.person, { binding_message: 'rotate the staging database password' });
  const req = await bcAuthorize(w.t, w.agent, params);

  // the outbox tries at once; the receiver is not ready (503)
  const deadline = Date.now() + 10000;
  while (!rx.all.some((e) => e.body.includes(req.auth_req_id))) {
    assert.ok(Date.now() < deadline, `authzd attempted the webhook within 10 s (attempts: ${rx.all.length})`);
    await sleep(100);
  }
  const refusedAttempts = rx.all.length;

  // stop authzd (SPEC §10: SIGTERM drains and exits 0)
  const { code } = await authzd.stop();
  assert.equal(code, 0, `authzd exits 0 on SIGTERM; log:\n${authzd.log().slice(-2000)}`);

  // the receiver is ready now, but nobody is there to deliver
  rx.status = 200;
  await sleep(3000);
  assert.equal(rx.got.length, 0, 'nothing is delivered while authzd is stopped');

  await authzd.start();
  const got = await rx.wait((e) => e.body.includes(req.auth_req_id), 20000, 'the webhook after the restart');
  verifyWebhookSignature(got, secret);
  const body = JSON.parse(got.body);
  assert.equal(body.auth_req_id, req.auth_req_id, got.body);
  assert.equal(body.binding_message, params.binding_message, got.body);
  assert.ok(rx.all.length > refusedAttempts, 'delivered by a new attempt after the restart');
  await sleep(1500);
  assert.equal(rx.got.filter((e) => e.body.includes(req.auth_req_id)).length, 1, 'delivered once');

  const rows = await auditEvents(w.t, { event: 'session.notified', limit: '20' });
  const row = rows.find((r) => r.details?.channel === 'webhook' && r.outcome === 'success');
  assert.ok(row, `a session.notified row with details.channel webhook: ${JSON.stringify(rows)}`);

  // and the request is still decidable and redeemable after the restart
  await mustDecide(w.t, await w.approver.token(), req.auth_req_id, 'approve', w.person.username);
  const tokens = await pollTokens(w.t, w.agent, req.auth_req_id);
  assert.equal(jose.decodeJwt(tokens.access_token).sub, w.person.id);
});

test('a request made while the receiver is unreachable is delivered once it listens again (retried with backoff)', async () => {
  const secret = randomBytes(16).toString('hex');
  const w = await cibaWorld('restart2');
  // a port with nobody listening: connection refused
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/late`;
  const p = await patchTenant(w.t, { approval_webhook_url: url, approval_webhook_secret: secret });
  assert.equal(p.status, 200, p.describe());
  const req = await bcAuthorize(w.t, w.agent, bcParams(w.person));
  await sleep(1500); // the first attempt fails: nobody listens
  const late = await startReceiver({ path: '/late' });
  try {
    await new Promise((r) => late.server.close(r)); // move it to the advertised port
    await new Promise((r) => late.server.listen(port, '127.0.0.1', r));
    late.url = url;
    const got = await late.wait((e) => e.body.includes(req.auth_req_id), 20000, 'the webhook to a receiver that came up late');
    verifyWebhookSignature(got, secret);
  } finally {
    await late.close();
  }
});
