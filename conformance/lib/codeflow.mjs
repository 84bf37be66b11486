// People and the authorization code flow (SPEC §4.1, §4.2, §5): users and
// code-flow clients made through the admin API, authorization requests built
// with oauth4webapi (PKCE S256, state), the sign-in and consent pages driven
// by lib/useragent.mjs, and the token, introspection and revocation calls
// through oauth4webapi's strict validators.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { okJson } from './checks.mjs';
import { postForm } from './http.mjs';
import { insecure, RESOURCE_SCOPES, RESOURCE } from './fixture.mjs';
import { UserAgent, drive, callbackMatcher, describeTrail } from './useragent.mjs';

export const REDIRECT_URI = 'https://app.example.test/callback';

const enc = encodeURIComponent;

export function randomPassword() {
  return `pw-${randomBytes(12).toString('base64url')}`;
}

/** A person of tenant `t`; returns {id, username, password, scopes, ...answer}. */
export async function createUser(t, { username, password = randomPassword(), scopes = RESOURCE_SCOPES } = {}) {
  const name = username ?? `user-${randomBytes(4).toString('hex')}`;
  const res = await t.admin.call('POST', `/tenants/${enc(t.slug)}/users`, { username: name, password, scopes });
  const body = okJson(res, 201);
  assert.equal(typeof body.id, 'string', `created user has an id: ${JSON.stringify(body)}`);
  assert.equal(body.password, undefined, `the password is never returned: ${JSON.stringify(body)}`);
  return { ...body, username: name, password, scopes };
}

export function codeClientBody(overrides = {}) {
  return {
    client_name: 'conformance web app',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: 'client_secret_basic',
    allowed_scopes: [...RESOURCE_SCOPES],
    allowed_resources: [RESOURCE],
    ...overrides,
  };
}

/** An admin-created confidential code-flow client (answer has client_id and client_secret). */
export async function createCodeClient(t, overrides = {}) {
  const body = codeClientBody(overrides);
  const c = okJson(await t.admin.call('POST', `/tenants/${enc(t.slug)}/clients`, body), 201);
  assert.equal(typeof c.client_id, 'string', `created code client has a client_id: ${JSON.stringify(c)}`);
  if (body.token_endpoint_auth_method !== 'none') {
    assert.equal(typeof c.client_secret, 'string', `created code client has a client_secret: ${JSON.stringify(c)}`);
  }
  return { ...body, ...c };
}

/** oauth4webapi client authentication for a client made by createCodeClient. */
export function clientAuth(client) {
  switch (client.token_endpoint_auth_method) {
    case 'none':
      return oauth.None();
    case 'client_secret_post':
      return oauth.ClientSecretPost(client.client_secret);
    default:
      return oauth.ClientSecretBasic(client.client_secret);
  }
}

/** Basic/post credentials for raw postForm calls. */
export function rawAuth(client) {
  if (client.token_endpoint_auth_method === 'none') return { extra: [['client_id', client.client_id]], opts: {} };
  if (client.token_endpoint_auth_method === 'client_secret_post') {
    return { extra: [['client_id', client.client_id], ['client_secret', client.client_secret]], opts: {} };
  }
  return { extra: [], opts: { basic: [client.client_id, client.client_secret] } };
}

/**
 * An authorization request URL (from discovery) with PKCE S256 and state.
 * @param {{scope?: string, resource?: string|string[]|null, redirectUri?: string,
 *          pkce?: boolean, method?: string, state?: string, params?: Record<string,string|null>}} [o]
 *   resource: null leaves it out; params: extra or overriding parameters (null removes)
 */
export async function authorizationRequest(t, client, o = {}) {
  assert.equal(typeof t.as.authorization_endpoint, 'string', `discovery of ${t.issuer} lists an authorization_endpoint`);
  const redirectUri = o.redirectUri ?? client.redirect_uris?.[0] ?? REDIRECT_URI;
  const verifier = oauth.generateRandomCodeVerifier();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  const state = o.state ?? oauth.generateRandomState();
  const url = new URL(t.as.authorization_endpoint);
  const q = url.searchParams;
  q.set('response_type', 'code');
  q.set('client_id', client.client_id);
  q.set('redirect_uri', redirectUri);
  q.set('scope', o.scope ?? RESOURCE_SCOPES.join(' '));
  q.set('state', state);
  if (o.pkce !== false) {
    q.set('code_challenge', o.method === 'plain' ? verifier : challenge);
    q.set('code_challenge_method', o.method ?? 'S256');
  }
  const resources = o.resource === undefined ? [RESOURCE] : o.resource === null ? [] : [o.resource].flat();
  for (const r of resources) q.append('resource', r);
  for (const [k, v] of Object.entries(o.params || {})) {
    if (v === null) q.delete(k);
    else q.set(k, v);
  }
  return { url, state, verifier, challenge, redirectUri, resources };
}

/**
 * Sign in and answer consent for an authorization request; the redirect to
 * the client must come back. Returns the request, the drive result and the
 * callback URL.
 */
export async function authorize(t, client, user, o = {}) {
  const req = await authorizationRequest(t, client, o);
  const ua = o.ua ?? new UserAgent();
  const result = await drive(ua, req.url, {
    isCallback: callbackMatcher(req.redirectUri),
    username: user.username,
    password: user.password,
    decision: o.decision ?? 'approve',
    stopAt: o.stopAt,
  });
  if (o.stopAt && result.kind === 'stopped') return { ...req, result, ua };
  assert.equal(
    result.kind,
    'callback',
    `authorization request ${req.url} by ${user.username} should end in a redirect to ${req.redirectUri}; got ${result.kind}:\n    ${describeTrail(result)}`,
  );
  return { ...req, result, ua, callback: result.callback };
}

/** validateAuthResponse (state and RFC 9207 iss) on a successful callback; returns its parameters. */
export function validateCallback(t, client, auth) {
  try {
    return oauth.validateAuthResponse(t.as, { client_id: client.client_id }, auth.callback, auth.state);
  } catch (e) {
    assert.fail(`oauth4webapi validateAuthResponse rejected ${auth.callback.href}: ${e.code || ''} ${e.message}`);
  }
}

async function processOrExplain(what, res, fn) {
  const copy = res.clone();
  try {
    return await fn(res);
  } catch (e) {
    const text = await copy.text().catch(() => '');
    throw new Error(
      `oauth4webapi ${what} failed: ${e.code || ''} ${e.message}${e.error ? ` (error=${e.error})` : ''}\n  response: ${res.status} ` +
        `${res.headers.get('content-type')} cache-control=${res.headers.get('cache-control')}\n  body: ${text.slice(0, 500)}`,
      { cause: e },
    );
  }
}

/** Redeem a code through oauth4webapi (authorizationCodeGrantRequest + processAuthorizationCodeResponse). */
export async function redeem(t, client, auth, { params, resource } = {}) {
  const cb = params ?? validateCallback(t, client, auth);
  const extra = resource ? { additionalParameters: { resource } } : {};
  const res = await oauth.authorizationCodeGrantRequest(
    t.as,
    { client_id: client.client_id },
    clientAuth(client),
    cb,
    auth.redirectUri,
    auth.verifier,
    { ...insecure, ...extra },
  );
  return processOrExplain(`authorization_code grant at ${t.as.token_endpoint}`, res, (r) =>
    oauth.processAuthorizationCodeResponse(t.as, { client_id: client.client_id }, r),
  );
}

/** Sign in, consent and redeem: a person's tokens for `client`. */
export async function personTokens(t, client, user, o = {}) {
  const auth = await authorize(t, client, user, o);
  const tokens = await redeem(t, client, auth);
  return { auth, tokens };
}

/** Refresh through oauth4webapi; returns the processed response. */
export async function refresh(t, client, refreshToken, additionalParameters) {
  const res = await oauth.refreshTokenGrantRequest(t.as, { client_id: client.client_id }, clientAuth(client), refreshToken, {
    ...insecure,
    ...(additionalParameters ? { additionalParameters } : {}),
  });
  return processOrExplain(`refresh_token grant at ${t.as.token_endpoint}`, res, (r) =>
    oauth.processRefreshTokenResponse(t.as, { client_id: client.client_id }, r),
  );
}

/** Raw token-endpoint POST authenticated as `client`. */
export function tokenRaw(t, client, pairs) {
  const a = rawAuth(client);
  return postForm(t.as.token_endpoint, [...pairs, ...a.extra], a.opts);
}

/** Raw code redemption (for negative tests). */
export function redeemRaw(t, client, { code, redirectUri, verifier, extra = [] }) {
  const pairs = [['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', redirectUri]];
  if (verifier !== undefined) pairs.push(['code_verifier', verifier]);
  return tokenRaw(t, client, [...pairs, ...extra]);
}

export function refreshRaw(t, client, refreshToken, extra = []) {
  return tokenRaw(t, client, [['grant_type', 'refresh_token'], ['refresh_token', refreshToken], ...extra]);
}

/** RFC 7662 through oauth4webapi (introspectionRequest + processIntrospectionResponse). */
export async function introspect(t, client, token, hint) {
  const res = await oauth.introspectionRequest(t.as, { client_id: client.client_id }, clientAuth(client), token, {
    ...insecure,
    ...(hint ? { additionalParameters: { token_type_hint: hint } } : {}),
  });
  return processOrExplain(`introspection at ${t.as.introspection_endpoint}`, res, (r) =>
    oauth.processIntrospectionResponse(t.as, { client_id: client.client_id }, r),
  );
}

/** RFC 7009 through oauth4webapi. */
export async function revoke(t, client, token, hint) {
  const res = await oauth.revocationRequest(t.as, { client_id: client.client_id }, clientAuth(client), token, {
    ...insecure,
    ...(hint ? { additionalParameters: { token_type_hint: hint } } : {}),
  });
  return processOrExplain(`revocation at ${t.as.revocation_endpoint}`, res, (r) => oauth.processRevocationResponse(r));
}

/**
 * Introspection says active:false within `withinMs` (SPEC §5: revocation shows
 * within one second). Returns the last answer.
 */
export async function expectInactive(t, client, token, what, withinMs = 1200) {
  const deadline = Date.now() + withinMs;
  let last;
  for (;;) {
    last = await introspect(t, client, token);
    if (last.active === false) return last;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: introspection should say active:false within ${withinMs} ms; got ${JSON.stringify(last)}`);
}

/** The tenant's consents (admin API), optionally filtered. */
export async function consents(t, query = {}) {
  const qs = new URLSearchParams(query).toString();
  const body = okJson(await t.admin.call('GET', `/tenants/${enc(t.slug)}/consents${qs ? `?${qs}` : ''}`));
  assert.ok(Array.isArray(body.consents), `consents answer has a consents array: ${JSON.stringify(body)}`);
  return body.consents;
}

export function withdrawConsent(t, query) {
  const qs = new URLSearchParams(query).toString();
  return t.admin.call('DELETE', `/tenants/${enc(t.slug)}/consents?${qs}`);
}

export function patchTenant(t, body) {
  return t.admin.call('PATCH', `/tenants/${enc(t.slug)}`, body);
}

/** Audit rows of tenant `t` (newest first). */
export async function auditEvents(t, query = {}) {
  const body = okJson(await t.admin.audit(t.slug, query));
  assert.ok(Array.isArray(body.events), `audit answer has an events array: ${JSON.stringify(body)}`);
  return body.events;
}

/** Callback parameters as a plain object, for messages. */
export function callbackParams(u) {
  return Object.fromEntries(new URL(u).searchParams);
}
