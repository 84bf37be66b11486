// Approval-gated session grants (SPEC §4.5, OpenID CIBA Core): CIBA agents
// made through the admin API, the backchannel request and the polling grant
// through oauth4webapi (backchannelAuthenticationRequest /
// backchannelAuthenticationGrantRequest), the approval callback of an
// external approval system, the sessions admin API, and small local HTTP
// receivers for ping notifications and approval webhooks.

import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac, timingSafeEqual, randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { okJson } from './checks.mjs';
import { postForm, jsonRequest } from './http.mjs';
import { insecure, agentClientBody, createTenant, RESOURCE_SCOPES, RESOURCE } from './fixture.mjs';
import { createUser } from './codeflow.mjs';
import { GT_EXCHANGE } from './exchange.mjs';

const enc = encodeURIComponent;

export const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A CIBA agent (poll mode by default): CIBA, refresh, token exchange and client_credentials. */
export async function createCibaAgent(t, overrides = {}) {
  const body = agentClientBody({
    client_name: 'ciba agent',
    grant_types: [CIBA_GRANT, 'refresh_token', GT_EXCHANGE, 'client_credentials'],
    allowed_scopes: [...RESOURCE_SCOPES],
    allowed_resources: [RESOURCE],
    backchannel_token_delivery_mode: 'poll',
    ...overrides,
  });
  const c = okJson(await t.admin.call('POST', `/tenants/${enc(t.slug)}/clients`, body), 201);
  assert.equal(typeof c.client_id, 'string', `created CIBA agent has a client_id: ${JSON.stringify(c)}`);
  assert.equal(typeof c.client_secret, 'string', `created CIBA agent has a client_secret: ${JSON.stringify(c)}`);
  return { ...body, ...c };
}

/**
 * An external approval system: a client with client_credentials and scope
 * approvals:decide (no resource, so aud = the issuer). `token()` fetches a
 * fresh access token.
 */
export async function createApprover(t) {
  const body = agentClientBody({
    client_name: 'approval system',
    grant_types: ['client_credentials'],
    allowed_scopes: ['approvals:decide'],
    allowed_resources: [],
  });
  const c = okJson(await t.admin.call('POST', `/tenants/${enc(t.slug)}/clients`, body), 201);
  const client = { ...body, ...c };
  return {
    client,
    token: () => t.accessToken(client, { scope: 'approvals:decide' }),
  };
}

function pairsOf(params) {
  const out = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const x of [v].flat()) out.push([k, String(x)]);
  }
  return out;
}

/** The standard request of these tests: both scopes at RESOURCE, a task, a TTL. */
export function bcParams(user, o = {}) {
  return {
    login_hint: user.username,
    scope: 'tools:read tools:call',
    resource: RESOURCE,
    binding_message: `task ${randomBytes(3).toString('hex')}: summarise the open tickets`,
    session_ttl: '600',
    ...o,
  };
}

/** A raw backchannel authentication request (Basic auth as `client`). */
export function bcAuthorizeRaw(t, client, params) {
  assert.equal(
    typeof t.as.backchannel_authentication_endpoint,
    'string',
    `discovery of ${t.issuer} lists a backchannel_authentication_endpoint`,
  );
  return postForm(t.as.backchannel_authentication_endpoint, Array.isArray(params) ? params : pairsOf(params), {
    basic: [client.client_id, client.client_secret],
  });
}

/**
 * A backchannel authentication request through oauth4webapi; returns
 * {auth_req_id, expires_in, interval}.
 */
export async function bcAuthorize(t, client, params) {
  const res = await oauth.backchannelAuthenticationRequest(
    t.as,
    { client_id: client.client_id },
    oauth.ClientSecretBasic(client.client_secret),
    new URLSearchParams(pairsOf(params)),
    insecure,
  );
  const copy = res.clone();
  try {
    return await oauth.processBackchannelAuthenticationResponse(t.as, { client_id: client.client_id }, res);
  } catch (e) {
    const text = await copy.text().catch(() => '');
    throw new Error(
      `oauth4webapi backchannel authentication at ${t.as.backchannel_authentication_endpoint} by ${client.client_id} ` +
        `with ${JSON.stringify(params)} failed: ${e.code || ''} ${e.message}\n  response: ${res.status} ` +
        `${res.headers.get('content-type')}\n  body: ${text.slice(0, 500)}`,
      { cause: e },
    );
  }
}

/** The approval callback (SPEC §4.5): POST {ISSUER}/approvals/{id}/decision with a Bearer token. */
export function decide(t, bearer, authReqId, body) {
  return jsonRequest('POST', `${t.issuer}/approvals/${enc(authReqId)}/decision`, { token: bearer, body });
}

/** Decide and expect 200 {auth_req_id, status}. */
export async function mustDecide(t, bearer, authReqId, decision, approver) {
  const res = await decide(t, bearer, authReqId, { decision, approver });
  const body = okJson(res, 200);
  assert.equal(body.auth_req_id, authReqId, `decision answer names the request\n  ${res.describe()}`);
  assert.equal(body.status, decision === 'approve' ? 'approved' : 'denied', `decision answer status\n  ${res.describe()}`);
  return body;
}

/** A raw poll at the token endpoint. */
export function pollRaw(t, client, authReqId) {
  return postForm(
    t.as.token_endpoint,
    [
      ['grant_type', CIBA_GRANT],
      ['auth_req_id', authReqId],
    ],
    { basic: [client.client_id, client.client_secret] },
  );
}

/** A poll through oauth4webapi that must yield tokens (processBackchannelAuthenticationGrantResponse). */
export async function pollTokens(t, client, authReqId) {
  const res = await oauth.backchannelAuthenticationGrantRequest(
    t.as,
    { client_id: client.client_id },
    oauth.ClientSecretBasic(client.client_secret),
    authReqId,
    insecure,
  );
  const copy = res.clone();
  try {
    return await oauth.processBackchannelAuthenticationGrantResponse(t.as, { client_id: client.client_id }, res);
  } catch (e) {
    const text = await copy.text().catch(() => '');
    throw new Error(
      `oauth4webapi CIBA grant at ${t.as.token_endpoint} for ${authReqId} by ${client.client_id} failed: ` +
        `${e.code || ''} ${e.message}${e.error ? ` (error=${e.error})` : ''}\n  response: ${res.status} ` +
        `${res.headers.get('content-type')}\n  body: ${text.slice(0, 500)}`,
      { cause: e },
    );
  }
}

/**
 * A person's session for `agent`, approved through the callback: request,
 * approve, one poll. Returns {req, tokens, claims, sid, params}.
 */
export async function approvedSession(t, agent, user, approver, o = {}) {
  const params = bcParams(user, o);
  const req = await bcAuthorize(t, agent, params);
  await mustDecide(t, await approver.token(), req.auth_req_id, 'approve', user.username);
  const tokens = await pollTokens(t, agent, req.auth_req_id);
  const claims = jose.decodeJwt(tokens.access_token);
  assert.equal(typeof claims.sid, 'string', `a session's access token carries sid: ${JSON.stringify(claims)}`);
  return { req, tokens, claims, sid: claims.sid, params };
}

// ---------------------------------------------------------------- sessions admin

export async function listSessions(t, query = {}) {
  const qs = new URLSearchParams(query).toString();
  const body = okJson(await t.admin.call('GET', `/tenants/${enc(t.slug)}/sessions${qs ? `?${qs}` : ''}`));
  assert.ok(Array.isArray(body.sessions), `sessions answer has a sessions array: ${JSON.stringify(body)}`);
  return body.sessions;
}

export function revokeSessionRaw(t, sid) {
  return t.admin.call('POST', `/tenants/${enc(t.slug)}/sessions/${enc(sid)}/revoke`);
}

export async function revokeSession(t, sid) {
  const res = await revokeSessionRaw(t, sid);
  assert.ok(res.status >= 200 && res.status < 300, `admin session revoke answers 2xx\n  ${res.describe()}`);
  return res;
}

// ---------------------------------------------------------------- receivers

/**
 * A local HTTP endpoint on 127.0.0.1 that records every request (method,
 * path, headers, raw body). `status` is what it answers (a number, or a
 * function of the request count); `url` is its address.
 */
export async function startReceiver({ status = 200, path = '/hook' } = {}) {
  const got = [];
  const all = [];
  const waiters = [];
  const rx = {
    got,
    all,
    status,
    url: '',
    attempts: 0,
    server: null,
    /** Resolves with the first recorded request matching `pred` (within `ms`). */
    wait(pred = () => true, ms = 10000, what = 'a request') {
      const hit = got.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(
            new Error(
              `${what} did not arrive at ${rx.url} within ${ms} ms; got ${got.length} request(s), ` +
                `${rx.attempts} attempt(s): ${JSON.stringify(got.map((g) => ({ path: g.path, body: g.body.slice(0, 200) })))}`,
            ),
          );
        }, ms);
      });
    },
    close() {
      return new Promise((r) => (rx.server ? rx.server.close(() => r()) : r()));
    },
  };
  rx.server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      rx.attempts += 1;
      const st = typeof rx.status === 'function' ? rx.status(rx.attempts) : rx.status;
      const entry = {
        at: Date.now(),
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answered: st,
      };
      all.push(entry);
      if (st >= 200 && st < 300) {
        got.push(entry);
        for (const w of [...waiters]) {
          if (w.pred(entry)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(entry);
          }
        }
      }
      res.writeHead(st, { 'Content-Type': 'text/plain' });
      res.end(st >= 200 && st < 300 ? 'ok' : 'not now');
    });
  });
  await new Promise((r) => rx.server.listen(0, '127.0.0.1', r));
  rx.url = `http://127.0.0.1:${rx.server.address().port}${path}`;
  return rx;
}

/**
 * Verify an approval webhook's Authz-Signature (SPEC §4.5):
 * t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>, t within 5 minutes.
 * Returns {t, v1}; throws with what is wrong.
 */
export function verifyWebhookSignature(entry, secret) {
  const h = entry.headers['authz-signature'];
  assert.equal(typeof h, 'string', `webhook has an Authz-Signature header: ${JSON.stringify(entry.headers)}`);
  const parts = Object.fromEntries(
    h.split(',').map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
    }),
  );
  assert.match(parts.t ?? '', /^\d+$/, `Authz-Signature t is a unix time: ${h}`);
  assert.match(parts.v1 ?? '', /^[0-9a-f]{64}$/, `Authz-Signature v1 is 64 hex digits: ${h}`);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(now - Number(parts.t)) <= 300, `Authz-Signature t ${parts.t} is within 5 minutes of now ${now}`);
  const expected = createHmac('sha256', secret).update(`${parts.t}.${entry.body}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  assert.ok(
    given.length === expected.length && timingSafeEqual(given, expected),
    `Authz-Signature v1 is HMAC-SHA256(secret, "<t>.<body>"): got ${parts.v1}, expected ${expected.toString('hex')}`,
  );
  return parts;
}

/**
 * A tenant ready for sessions: the fixture tenant (lib/fixture.mjs), an
 * approval system, a poll-mode CIBA agent and a person with both scopes.
 */
export async function cibaWorld(prefix, { tenantPatch, userScopes = [...RESOURCE_SCOPES] } = {}) {
  const t = await createTenant(prefix);
  if (tenantPatch) {
    const res = await t.admin.patchTenant(t.slug, tenantPatch);
    assert.equal(res.status, 200, `PATCH tenant ${JSON.stringify(tenantPatch)}\n  ${res.describe()}`);
  }
  const approver = await createApprover(t);
  const agent = await createCibaAgent(t);
  const person = await createUser(t, { scopes: userScopes });
  return { t, approver, agent, person };
}
